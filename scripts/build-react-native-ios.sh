#!/usr/bin/env bash
# Builds the React Native package's iOS native library: roomcast-ffi as a static library for
# each iOS target, packed by uniffi-bindgen-react-native (ubrn) into
# bindings/react-native/build/RoomcastReactNativeFFI.xcframework, which the package's podspec
# vendors next to the committed JSI C++ and Turbo Module sources. macOS with Xcode only.
#
# Usage: scripts/build-react-native-ios.sh [--debug] [--sim-only]
#   default: the ffi-release profile (release with LTO, what an app ships); --debug: faster to
#   build; --sim-only: only the simulator targets (a quicker edit-build-run loop).
# Then, in the app: `cd ios && pod install` (React Native's new architecture, 0.76+).
#
# The TypeScript and C++ are committed and not regenerated here (scripts/gen-react-native.sh
# does that, on any machine). ubrn's CLI is built with cargo on first use (several minutes).
set -euo pipefail
cd "$(dirname "$0")/.."

profile=(--profile ffi-release)
extra=()
for arg in "$@"; do
    case "$arg" in
        --debug) profile=() ;;
        --sim-only) extra+=(--sim-only) ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done

if [ "$(uname -s)" != "Darwin" ] || ! command -v xcodebuild >/dev/null; then
    echo "build-react-native-ios.sh needs macOS with Xcode (xcodebuild)" >&2
    exit 1
fi

# The targets in ubrn.config.yaml: devices (arm64) and simulators (arm64, x86_64).
rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
# React Native 0.76+ supports iOS 15.1 and later.
export IPHONEOS_DEPLOYMENT_TARGET=15.1

cd bindings/react-native
[ -x node_modules/.bin/ubrn ] || npm ci --no-audit --no-fund
# No --and-generate: the committed bindings stay as they are (regenerating here would format
# them with whatever prettier and clang-format the Mac has).
node_modules/.bin/ubrn build ios --config ubrn.config.yaml "${profile[@]}" "${extra[@]}"
echo "iOS library: bindings/react-native/build/RoomcastReactNativeFFI.xcframework"
