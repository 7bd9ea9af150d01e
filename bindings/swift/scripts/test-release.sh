#!/usr/bin/env bash
# Tests bindings/swift/scripts/release.sh on any machine, with a fake XCFramework standing in
# for what xcodebuild makes: the zip holds the XCFramework at its root and unpacks to the same
# files, its checksum is the SHA-256 of the zip and the manifest names it with the URL, the
# manifest has a binaryTarget and no unsafeFlags, the sources and licences are copied, and a
# second run gives the same checksum. With swift installed, `swift package dump-package`
# also parses the manifest. About a second.
#
# Usage: bindings/swift/scripts/test-release.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "swift release test: $*" >&2; exit 1; }

fake="$tmp/RoomcastCoreFFI.xcframework"
mkdir -p "$fake/ios-arm64/Headers/RoomcastCoreFFI" "$fake/macos-arm64_x86_64/Headers/RoomcastCoreFFI"
cat >"$fake/Info.plist" <<'PLIST'
<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict><key>XCFrameworkFormatVersion</key><string>1.0</string></dict></plist>
PLIST
for slice in ios-arm64 macos-arm64_x86_64; do
    printf 'not a real archive: %s\n' "$slice" >"$fake/$slice/libroomcast_ffi.a"
    echo 'module RoomcastCoreFFI { header "RoomcastCoreFFI.h" export * }' \
        >"$fake/$slice/Headers/RoomcastCoreFFI/module.modulemap"
done
ln -s ios-arm64 "$fake/Current"   # a symlink must stay a link

bash "$here/release.sh" --xcframework "$fake" --url-base https://downloads.example/roomcast/v9 \
    --out "$tmp/out" >"$tmp/log"
zip="$tmp/out/RoomcastCoreFFI.xcframework.zip"
manifest="$tmp/out/package/Package.swift"
[ -s "$zip" ] && [ -s "$manifest" ] || fail "no zip or no manifest"

sum=$(sha256sum "$zip" | cut -d' ' -f1)
grep -q "checksum: \"$sum\"" "$manifest" || fail "the manifest's checksum is not the zip's SHA-256 ($sum)"
grep -q "url: \"https://downloads.example/roomcast/v9/RoomcastCoreFFI.xcframework.zip\"" "$manifest" ||
    fail "the manifest's url is not --url-base + the zip's name"
grep -q '\.binaryTarget(' "$manifest" || fail "no binaryTarget"
! grep -q 'unsafeFlags' "$manifest" || fail "unsafeFlags in the distribution manifest"
! grep -q 'path: "RoomcastCoreFFI.xcframework"' "$manifest" || fail "the manifest still names a local path"
grep -q "$sum  RoomcastCoreFFI.xcframework.zip" "$tmp/out/RoomcastCoreFFI.xcframework.zip.sha256" ||
    fail "the .sha256 file disagrees"

unzip -q "$zip" -d "$tmp/unzipped"
[ -f "$tmp/unzipped/RoomcastCoreFFI.xcframework/Info.plist" ] || fail "the zip has no RoomcastCoreFFI.xcframework/Info.plist at its root"
diff -r "$fake" "$tmp/unzipped/RoomcastCoreFFI.xcframework" >/dev/null || fail "the zip unpacks to other files"
[ -L "$tmp/unzipped/RoomcastCoreFFI.xcframework/Current" ] || fail "a symlink was not kept as a link"
[ "$(unzip -Z1 "$zip" | grep -vc '^RoomcastCoreFFI.xcframework/')" = 0 ] || fail "files outside the XCFramework in the zip"

for f in Sources/Roomcast/RoomcastClient.swift Sources/RoomcastFFI/RoomcastFFI.swift LICENSE-MIT LICENSE-APACHE THIRD-PARTY-NOTICES.md README.md; do
    [ -s "$tmp/out/package/$f" ] || fail "package/$f missing"
done

touch "$fake/Info.plist"   # a newer mtime must not change the zip
bash "$here/release.sh" --xcframework "$fake" --url-base https://downloads.example/roomcast/v9 \
    --out "$tmp/out2" >/dev/null
[ "$(sha256sum "$tmp/out2/RoomcastCoreFFI.xcframework.zip" | cut -d' ' -f1)" = "$sum" ] ||
    fail "a second run gave another checksum (the zip is not reproducible)"

if command -v swift >/dev/null; then
    (cd "$tmp/out/package" && swift package dump-package >/dev/null) || fail "swift cannot parse the manifest"
fi
echo "swift release test: passed (zip sha256 $sum)"
