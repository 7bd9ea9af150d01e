#!/usr/bin/env bash
# Generates the Swift bindings from the built roomcast-ffi library with the workspace's own
# uniffi-bindgen (same pinned uniffi as the library), in library mode: the library's
# embedded metadata is the single source, no UDL.
#
# Usage: scripts/gen-swift.sh [--out DIR] [--lib PATH]
#   --out DIR   package root to write into (default: bindings/swift)
#   --lib PATH  library to read (default: target/debug/libroomcast_ffi.so or .dylib, built first)
#
# Writes:
#   DIR/Sources/RoomcastFFI/RoomcastFFI.swift          generated Swift (the RoomcastFFI target)
#   DIR/Headers/RoomcastCoreFFI/RoomcastCoreFFI.h       C declarations of the FFI
#   DIR/Headers/RoomcastCoreFFI/module.modulemap        the Clang module `RoomcastCoreFFI`
# The headers sit in a folder named after their module, the layout XCFrameworks need so that
# several frameworks' module.modulemap files do not collide (scripts/build-xcframework.sh).
# Runs on Linux: the output only depends on the library's metadata, not on the platform.
set -euo pipefail
cd "$(dirname "$0")/.."

out=bindings/swift
lib=
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out=$2; shift 2 ;;
        --lib) lib=$2; shift 2 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

# The whole workspace, as scripts/test-ffi.sh builds it: features unify the same way, so after
# that build this one is a no-op instead of a second build of uniffi's dependencies.
cargo build -q --workspace
if [ -z "$lib" ]; then
    for candidate in target/debug/libroomcast_ffi.so target/debug/libroomcast_ffi.dylib; do
        [ -f "$candidate" ] && lib=$candidate && break
    done
fi
[ -n "$lib" ] && [ -f "$lib" ] || { echo "roomcast-ffi library not found" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# swift-format is not needed: the unformatted output is deterministic, which the
# "committed copy is current" check relies on.
target/debug/uniffi-bindgen generate --library "$lib" --crate roomcast_ffi \
    --language swift --out-dir "$tmp" >/dev/null 2>&1 \
    || target/debug/uniffi-bindgen generate --library "$lib" --crate roomcast_ffi \
        --language swift --out-dir "$tmp"

mkdir -p "$out/Sources/RoomcastFFI" "$out/Headers/RoomcastCoreFFI"
cp "$tmp/RoomcastFFI.swift" "$out/Sources/RoomcastFFI/RoomcastFFI.swift"
cp "$tmp/RoomcastCoreFFI.h" "$out/Headers/RoomcastCoreFFI/RoomcastCoreFFI.h"
cp "$tmp/RoomcastCoreFFI.modulemap" "$out/Headers/RoomcastCoreFFI/module.modulemap"
echo "Swift bindings written to $out"
