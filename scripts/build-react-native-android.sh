#!/usr/bin/env bash
# Builds the React Native package's Android native libraries: roomcast-ffi as a static
# library per ABI with cargo-ndk, copied by uniffi-bindgen-react-native (ubrn) into
# bindings/react-native/android/src/main/jniLibs/<abi>/, where the package's CMakeLists.txt
# links it into the Turbo Module's shared object with the committed JSI C++.
#
# Usage: scripts/build-react-native-android.sh [--debug] [--targets arm64-v8a,x86_64]
#   default: the ffi-release profile (release with LTO) for the ABIs in ubrn.config.yaml
#   (arm64-v8a, armeabi-v7a, x86_64); --debug: faster to build; --targets: fewer ABIs (an
#   emulator on an Apple-silicon Mac needs only arm64-v8a).
# Needs the Android NDK: ANDROID_NDK_HOME, or ANDROID_HOME with one NDK under ndk/ (use the
# `ndkVersion` of the app's android/build.gradle). Then build the app as usual (Gradle).
#
# The TypeScript and C++ are committed and not regenerated here (scripts/gen-react-native.sh
# does that, on any machine). ubrn's CLI is built with cargo on first use (several minutes).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo_ndk=4.1.2
profile=(--profile ffi-release)
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --debug) profile=(); shift ;;
        --targets) targets=(--targets "$2"); shift 2 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

if [ -z "${ANDROID_NDK_HOME:-}" ] && [ -n "${ANDROID_HOME:-}" ] && [ -d "$ANDROID_HOME/ndk" ]; then
    ANDROID_NDK_HOME=$(ls -d "$ANDROID_HOME"/ndk/* | sort -V | tail -1)
    export ANDROID_NDK_HOME
fi
if [ -z "${ANDROID_NDK_HOME:-}" ] || [ ! -d "$ANDROID_NDK_HOME" ]; then
    echo "build-react-native-android.sh needs the Android NDK (set ANDROID_NDK_HOME)" >&2
    exit 1
fi

rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
if [ "$(cargo ndk --version 2>/dev/null | cut -d' ' -f2)" != "$cargo_ndk" ]; then
    cargo install --locked cargo-ndk --version "$cargo_ndk"
fi

cd bindings/react-native
[ -x node_modules/.bin/ubrn ] || npm ci --no-audit --no-fund
# No --and-generate: the committed bindings stay as they are.
node_modules/.bin/ubrn build android --config ubrn.config.yaml "${profile[@]}" "${targets[@]}"
echo "Android libraries: bindings/react-native/android/src/main/jniLibs/"
