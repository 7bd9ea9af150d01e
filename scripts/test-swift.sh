#!/usr/bin/env bash
# The Swift package's own tests: `swift build` and `swift test` in bindings/swift, against
# libroomcast_ffi.so and a real roomcast-server the tests start.
#
# Usage: scripts/test-swift.sh [swift test args...]
#   Builds roomcast-ffi (cdylib) and roomcast-server in release, then builds and tests the
#   package. With ROOMCAST_FFI_LIB_DIR (a directory holding libroomcast_ffi.so) and
#   ROOMCAST_SERVER (the roomcast-server binary) both set, it uses those prebuilt files and
#   builds no Rust: for machines with Swift but no Rust toolchain.
#   Without `swift` on PATH it says so and exits 0 (scripts/test.sh runs it everywhere).
#
# On Linux only; on macOS, open bindings/swift in Xcode with the XCFramework built
# (scripts/build-xcframework.sh) and run the same tests there.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v swift >/dev/null 2>&1; then
    echo "swift: not found — Swift tests skipped"
    exit 0
fi

if [ -n "${ROOMCAST_FFI_LIB_DIR:-}" ] && [ -n "${ROOMCAST_SERVER:-}" ]; then
    lib_dir=$(cd "$ROOMCAST_FFI_LIB_DIR" && pwd)
    server=$(cd "$(dirname "$ROOMCAST_SERVER")" && pwd)/$(basename "$ROOMCAST_SERVER")
else
    cargo build -q --release -p roomcast-ffi -p roomcast-server
    target=${CARGO_TARGET_DIR:-target}
    lib_dir=$(cd "$target/release" && pwd)
    server=$lib_dir/roomcast-server
fi
[ -f "$lib_dir/libroomcast_ffi.so" ] || { echo "no libroomcast_ffi.so in $lib_dir" >&2; exit 1; }
[ -x "$server" ] || { echo "roomcast-server not found at $server" >&2; exit 1; }

export ROOMCAST_FFI_LIB_DIR=$lib_dir ROOMCAST_SERVER=$server
# The manifest reads ROOMCAST_FFI_LIB_DIR; the linker and loader paths cover the rest.
export LIBRARY_PATH=$lib_dir${LIBRARY_PATH:+:$LIBRARY_PATH}
export LD_LIBRARY_PATH=$lib_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

cd bindings/swift
# No manifest cache: the manifest depends on ROOMCAST_FFI_LIB_DIR. The same flags for both
# commands, so `swift test` reuses the build instead of compiling everything again (the Swift 6
# targets check complete concurrency anyway; the flag matters for the generated Swift 5 one).
flags=(--manifest-cache none -Xswiftc -strict-concurrency=complete)
swift build "${flags[@]}"
swift test "${flags[@]}" "$@"
