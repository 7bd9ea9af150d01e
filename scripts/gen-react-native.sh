#!/usr/bin/env bash
# Regenerates the React Native package's committed bindings from the built roomcast-ffi
# library with uniffi-bindgen-react-native (ubrn), in library mode like scripts/gen-swift.sh:
# the library's embedded metadata is the single source.
#
# Usage: scripts/gen-react-native.sh [--check] [--lib PATH]
#   --check     generate into a temp dir and fail if the committed files differ (writes nothing)
#   --lib PATH  library to read (default: target/debug/libroomcast_ffi.so or .dylib, built first)
#
# Writes, under bindings/react-native:
#   src/generated/roomcast.ts, roomcast-ffi.ts   JSI flavour TypeScript (what the app runs)
#   cpp/generated/roomcast.{hpp,cpp}              JSI C++: the FFI installed into Hermes
#   src/native.tsx, src/NativeRoomcastReactNative.ts, cpp/roomcast-react-native.{h,cpp},
#   ios/, android/, RoomcastReactNative.podspec  the Turbo Module glue (ubrn's templates)
#   src/node/generated/roomcast.ts, roomcast-ffi.ts  N-API flavour (Node tests, @ubjs/node)
#
# Opt-in, not part of scripts/test.sh: ubrn's CLI is a Rust program that npm ships as source
# and builds with cargo on first use (6 to 12 minutes on a busy 2-core machine; kept in
# target/ubrn-cli afterwards; its dependency versions: bindings/react-native/ubrn-cli.Cargo.lock). What CI checks instead, cheaply, on every run
# (scripts/test-react-native.sh): the committed TypeScript's API checksums and function list
# equal the library's, and the Node tests run the committed N-API flavour against it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

check=0
lib=
while [ $# -gt 0 ]; do
    case "$1" in
        --check) check=1; shift ;;
        --lib) lib=$2; shift 2 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

pkg=bindings/react-native
if [ -z "$lib" ]; then
    cargo build -q --workspace
    for candidate in target/debug/libroomcast_ffi.so target/debug/libroomcast_ffi.dylib; do
        [ -f "$candidate" ] && lib=$candidate && break
    done
fi
[ -n "$lib" ] && [ -f "$lib" ] || { echo "roomcast-ffi library not found" >&2; exit 1; }
lib=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")

[ -x "$pkg/node_modules/.bin/ubrn" ] || (cd "$pkg" && npm ci --no-audit --no-fund)
# npm ships ubrn's Rust source without a Cargo.lock: build it with the dependency versions it
# was last built and checked with, not whatever crates.io has today.
ubrn_src=$pkg/node_modules/uniffi-bindgen-react-native
[ -f "$ubrn_src/Cargo.lock" ] || cp "$pkg/ubrn-cli.Cargo.lock" "$ubrn_src/Cargo.lock"

# The ubrn CLI is `cargo run` of the npm package's source: built in a target dir of its own
# (its dependencies are not the workspace's). CARGO_TARGET_DIR is only for that build: the
# `generate` commands read the library and never build the crate.
# Generate into a scratch copy of the package (config and package.json only), so --check
# compares whole trees and a failed run leaves the committed files alone.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=$work/pkg
mkdir -p "$out"
cp "$pkg/package.json" "$pkg/ubrn.config.yaml" "$out/"
# ubrn resolves the crate through `rust.directory` relative to the package: point it home.
sed -i.bak "s|^  directory: \.\./\.\.$|  directory: $root|" "$out/ubrn.config.yaml" && rm -f "$out/ubrn.config.yaml.bak"
ln -s "$root/$pkg/node_modules" "$out/node_modules"

# --no-format: the unformatted output is deterministic (prettier and clang-format versions
# would otherwise decide the committed bytes), which the --check comparison relies on.
# The bindings commands find the crate (and its uniffi.toml, sdk-ffi/uniffi.toml) with
# `cargo metadata`: run them in the workspace.
ubrn=$root/$pkg/node_modules/.bin/ubrn
export UBRN_CARGO_TARGET_DIR="$root/target/ubrn-cli"
CARGO_TARGET_DIR=$UBRN_CARGO_TARGET_DIR "$ubrn" generate jsi bindings \
    --library --no-format --ts-dir "$out/src/generated" --cpp-dir "$out/cpp/generated" "$lib"
(cd "$out" && CARGO_TARGET_DIR=$UBRN_CARGO_TARGET_DIR "$ubrn" generate jsi turbo-module \
    --config ubrn.config.yaml roomcast)
CARGO_TARGET_DIR=$UBRN_CARGO_TARGET_DIR "$ubrn" generate napi bindings \
    --library "$lib" --no-format --ts-dir "$out/src/node/generated" --lib-colocated

# What ubrn writes that this package does not take: its turbo-module step also writes an
# entrypoint the package replaces (src/index.tsx is the typed layer), kept as src/native.tsx.
# In android/, the files ubrn writes sit next to scaffolding it does not (gradle.properties,
# proguard-rules.pro, AndroidManifestNew.xml), which stays.
generated=(src/generated cpp/generated src/node/generated src/native.tsx
    src/NativeRoomcastReactNative.ts cpp/roomcast-react-native.h cpp/roomcast-react-native.cpp
    ios android/CMakeLists.txt android/build.gradle android/cpp-adapter.cpp
    android/src/main/AndroidManifest.xml android/src/main/java RoomcastReactNative.podspec)

status=0
for path in "${generated[@]}"; do
    if [ ! -e "$out/$path" ]; then
        echo "ubrn did not write $path" >&2
        status=1
        continue
    fi
    if [ $check = 1 ]; then
        if ! diff -r "$pkg/$path" "$out/$path" >/dev/null 2>&1; then
            echo "$pkg/$path is stale: run scripts/gen-react-native.sh and commit the result" >&2
            diff -r "$pkg/$path" "$out/$path" | head -40 >&2 || true
            status=1
        fi
    else
        rm -rf "${pkg:?}/$path"
        mkdir -p "$(dirname "$pkg/$path")"
        cp -R "$out/$path" "$pkg/$path"
    fi
done
[ $status = 0 ] || exit $status
if [ $check = 1 ]; then
    echo "React Native bindings are current"
else
    echo "React Native bindings written to $pkg"
fi
