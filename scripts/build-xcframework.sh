#!/usr/bin/env bash
# Builds bindings/swift/RoomcastCoreFFI.xcframework, the binary target of the Swift package,
# and regenerates the Swift bindings from the very library it packages. macOS with Xcode
# only (xcodebuild, lipo); it cannot run on Linux, where scripts/gen-swift.sh covers the
# generated sources and scripts/test-ffi.sh tests the same FFI through Python.
#
# Usage: scripts/build-xcframework.sh [--debug]
#   default: the ffi-release profile (release with LTO, what an app ships); --debug: faster
#   to build.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=ffi-release
cargo_profile=(--profile ffi-release)
if [ "${1:-}" = "--debug" ]; then
    profile=debug
    cargo_profile=()
fi

# Guard: every tool below is Apple's.
if [ "$(uname -s)" != "Darwin" ] || ! command -v xcodebuild >/dev/null; then
    echo "build-xcframework.sh needs macOS with Xcode (xcodebuild)" >&2
    exit 1
fi

lib=libroomcast_ffi.a
pkg=bindings/swift
out="$pkg/RoomcastCoreFFI.xcframework"
work=target/xcframework
rm -rf "$work" && mkdir -p "$work"

# Step 1: the Rust targets. Device iOS is arm64 only; the simulator needs arm64 (Apple
# silicon Macs) and x86_64 (Intel Macs); macOS gets both architectures too.
targets=(
    aarch64-apple-ios
    aarch64-apple-ios-sim x86_64-apple-ios
    aarch64-apple-darwin x86_64-apple-darwin
)
rustup target add "${targets[@]}"

# Step 2: one static library per target. staticlib, not the cdylib: an XCFramework of
# static libraries links into the app binary, which App Store rules and Swift packages
# handle without embedding or code-signing a separate framework. The deployment targets
# match Package.swift's platforms.
export IPHONEOS_DEPLOYMENT_TARGET=15.0 MACOSX_DEPLOYMENT_TARGET=12.0
for target in "${targets[@]}"; do
    cargo build -p roomcast-ffi --lib "${cargo_profile[@]}" --target "$target"
done

# Step 3: an XCFramework holds one library per platform variant, so architectures of the
# same platform are merged into one fat library with lipo first.
mkdir -p "$work/ios-sim" "$work/macos"
lipo -create \
    "target/aarch64-apple-ios-sim/$profile/$lib" \
    "target/x86_64-apple-ios/$profile/$lib" \
    -output "$work/ios-sim/$lib"
lipo -create \
    "target/aarch64-apple-darwin/$profile/$lib" \
    "target/x86_64-apple-darwin/$profile/$lib" \
    -output "$work/macos/$lib"

# Step 4: Swift sources, header and module map generated from the library being packaged
# (library mode reads the uniffi metadata embedded in it), with the workspace's pinned
# uniffi-bindgen built for this Mac. gen-swift.sh writes:
#   bindings/swift/Sources/RoomcastFFI/RoomcastFFI.swift
#   bindings/swift/Headers/RoomcastCoreFFI/{RoomcastCoreFFI.h,module.modulemap}
bash scripts/gen-swift.sh --lib "target/aarch64-apple-darwin/$profile/$lib" --out "$pkg"

# Step 5: headers for the XCFramework. The module map and header go in a subfolder named
# after the module (Headers/RoomcastCoreFFI/module.modulemap) rather than at the top of
# Headers/: Xcode copies every XCFramework's Headers into one include directory, where two
# top-level module.modulemap files would overwrite each other. Clang still finds the module,
# since it searches one directory level below each include path.
mkdir -p "$work/headers"
cp -R "$pkg/Headers/RoomcastCoreFFI" "$work/headers/"

# Step 6: assemble: one -library/-headers pair per platform variant (iOS device, iOS
# simulator, macOS).
rm -rf "$out"
xcodebuild -create-xcframework \
    -library "target/aarch64-apple-ios/$profile/$lib" -headers "$work/headers" \
    -library "$work/ios-sim/$lib" -headers "$work/headers" \
    -library "$work/macos/$lib" -headers "$work/headers" \
    -output "$out"

# Step 7: if the committed Swift differs from what this library generates, the FFI changed
# without scripts/gen-swift.sh being re-run; the package would not match its binary.
if ! git diff --quiet -- "$pkg/Sources/RoomcastFFI" "$pkg/Headers"; then
    echo "note: the generated Swift changed; review and commit bindings/swift" >&2
fi
echo "built $out"
echo "use it: add bindings/swift as a local package in Xcode (File > Add Package Dependencies > Add Local…)"
