#!/usr/bin/env bash
# Makes the Swift package's release: the XCFramework zipped, its SHA-256, and the distribution
# package a consumer adds with `.package(url:from:)`, in the layout matrix-rust-components-swift
# uses: a repository of its own holding only Package.swift (at its root, where SwiftPM looks),
# the Swift sources and the licences, whose manifest names the zip by URL and checksum.
#
#   <out>/RoomcastCoreFFI.xcframework.zip   upload to <url-base>/RoomcastCoreFFI.xcframework.zip
#   <out>/RoomcastCoreFFI.xcframework.zip.sha256
#   <out>/package/                          commit to the distribution repository, tag v<version>
#       Package.swift  (.binaryTarget(name:url:checksum:), no unsafeFlags)
#       Sources/Roomcast/ Sources/RoomcastFFI/ README.md LICENSE-MIT LICENSE-APACHE
#       THIRD-PARTY-NOTICES.md (the core's dependencies, scripts/notices.sh)
#
# Usage: bindings/swift/scripts/release.sh [--xcframework DIR] [--url-base URL] [--out DIR]
#   --xcframework DIR  an XCFramework already built; default: build it with
#                      scripts/build-xcframework.sh (macOS with Xcode only)
#   --url-base URL     where the zip is hosted; default: the distribution repository's release
#                      for this version, $ROOMCAST_SWIFT_REPO/releases/download/v<version>
#                      (ROOMCAST_SWIFT_REPO defaults to the workspace repository + "-swift")
#   --out DIR          default: target/swift-release
# Everything after the xcodebuild step runs on Linux too (bindings/swift/scripts/test-release.sh
# tests it with a fake XCFramework). The zip is reproducible: same XCFramework, same checksum.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)   # bindings/swift
root=$(cd "$here/../.." && pwd)
cd "$root"

xcframework=
url_base=
out=target/swift-release
while [ $# -gt 0 ]; do
    case "$1" in
        --xcframework) xcframework=$2; shift 2 ;;
        --url-base) url_base=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "swift release: unknown argument $1 (--help)" >&2; exit 2 ;;
    esac
done

version=$(sed -n '/^\[workspace.package\]/,/^\[/{s/^version = "\(.*\)"$/\1/p}' Cargo.toml)
repository=$(sed -n '/^\[workspace.package\]/,/^\[/{s/^repository = "\(.*\)"$/\1/p}' Cargo.toml)
swift_repo=${ROOMCAST_SWIFT_REPO:-$repository-swift}
url_base=${url_base:-$swift_repo/releases/download/v$version}

if [ -z "$xcframework" ]; then
    bash scripts/build-xcframework.sh
    xcframework="$here/RoomcastCoreFFI.xcframework"
fi
[ -f "$xcframework/Info.plist" ] || { echo "swift release: $xcframework is no XCFramework (no Info.plist)" >&2; exit 1; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
zip_name=RoomcastCoreFFI.xcframework.zip
zip_path="$out/$zip_name"
rm -rf "$zip_path" "$out/package"

# The zip holds RoomcastCoreFFI.xcframework/ at its root (what SwiftPM unpacks), symlinks kept
# as links, with fixed times, order and no extra attributes, so the checksum depends on the
# content only.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -R "$xcframework" "$work/RoomcastCoreFFI.xcframework"
find "$work/RoomcastCoreFFI.xcframework" -exec touch -h -t 198001010000 {} +
(cd "$work" && find RoomcastCoreFFI.xcframework | LC_ALL=C sort | TZ=UTC zip -q -X -y -@ "$zip_path")

if command -v swift >/dev/null && swift package compute-checksum --help >/dev/null 2>&1; then
    checksum=$(swift package compute-checksum "$zip_path")
elif command -v sha256sum >/dev/null; then
    checksum=$(sha256sum "$zip_path" | cut -d' ' -f1)
else
    checksum=$(shasum -a 256 "$zip_path" | cut -d' ' -f1)   # macOS without swift in PATH
fi
echo "$checksum  $zip_name" >"$zip_path.sha256"

pkg="$out/package"
mkdir -p "$pkg/Sources"
cp -R "$here/Sources/Roomcast" "$here/Sources/RoomcastFFI" "$pkg/Sources/"
cp "$root/LICENSE-MIT" "$root/LICENSE-APACHE" "$here/THIRD-PARTY-NOTICES.md" "$pkg/"
cat >"$pkg/Package.swift" <<SWIFT
// swift-tools-version:6.0
// Roomcast $version for Swift, made by bindings/swift/scripts/release.sh from the Roomcast
// repository ($repository): the Rust core as a prebuilt XCFramework, the Swift
// uniffi generates for it, and the typed layer. Do not edit; make the next release instead.
import PackageDescription

let package = Package(
    name: "Roomcast",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Roomcast", targets: ["Roomcast"]),
    ],
    targets: [
        .binaryTarget(
            name: "RoomcastCoreFFI",
            url: "$url_base/$zip_name",
            checksum: "$checksum"
        ),
        .target(
            name: "RoomcastFFI",
            dependencies: ["RoomcastCoreFFI"],
            path: "Sources/RoomcastFFI",
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .target(
            name: "Roomcast",
            dependencies: ["RoomcastFFI"],
            path: "Sources/Roomcast",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
SWIFT
cat >"$pkg/README.md" <<MD
# Roomcast for Swift ($version)

The Swift package of [Roomcast]($repository): real-time rooms with an offline queue, complete
resume and typed handlers, over the same Rust core as every other Roomcast client. This
repository is generated for each release; the sources live in the Roomcast repository
(\`bindings/swift\`).

\`\`\`swift
dependencies: [
    .package(url: "$swift_repo", from: "$version"),
],
targets: [
    .target(name: "MyApp", dependencies: [.product(name: "Roomcast", package: "Roomcast")]),
]
\`\`\`

In Xcode: File > Add Package Dependencies…, enter \`$swift_repo\`, and add the
\`Roomcast\` library to the app target. iOS 15+, macOS 12+. The core is downloaded as
\`$zip_name\` (SHA-256 \`$checksum\`).

Licensed under either of Apache License, Version 2.0 or MIT license, at your option.
MD

if grep -q unsafeFlags "$pkg/Package.swift"; then
    echo "swift release: the distribution manifest has unsafeFlags" >&2
    exit 1
fi
echo "swift release: $zip_path (sha256 $checksum)"
echo "swift release: $pkg: commit to $swift_repo, tag v$version, upload the zip to $url_base/"
