#!/usr/bin/env bash
# The Swift package's own tests: `swift build` and `swift test` in bindings/swift, against
# libroomcast_ffi.so and a real roomcast-server the tests start.
#
# Usage: scripts/test-swift.sh [swift test args...]
#   Builds roomcast-ffi (cdylib) and roomcast-server in release, then builds and tests the
#   package. With ROOMCAST_FFI_LIB_DIR (a directory holding libroomcast_ffi.so) and
#   ROOMCAST_SERVER (the roomcast-server binary) both set, it uses those prebuilt files and
#   builds no Rust: for machines with Swift but no Rust toolchain.
#   Without `swift` on PATH it checks only what needs no Swift (the README's code and its
#   compiled copies agree), says so and exits 0 (scripts/test.sh runs it everywhere).
#
# The package is built the way an app that depends on it by version builds it: the library
# found through pkg-config (a roomcast_ffi.pc written for it) and the linker's search path,
# with ROOMCAST_FFI_LIB_DIR unset for SwiftPM, so the manifest adds no unsafe flags.
#
# On Linux only; on macOS, open bindings/swift in Xcode with the XCFramework built
# (scripts/build-xcframework.sh) and run the same tests there.
set -euo pipefail
cd "$(dirname "$0")/.."

package=bindings/swift

# The README's app code is compiled by the main-actor test targets, in Swift 6 mode and in
# Swift 5 mode (two copies of one file), between `// README: begin NAME` and `// README: end
# NAME` markers; the README shows the same lines after `<!-- snippet: NAME -->`.
readme_app=$package/Tests/RoomcastMainActorTests/ReadmeApp.swift
if ! cmp -s "$readme_app" "$package/Tests/RoomcastMainActorSwift5Tests/ReadmeApp.swift"; then
    echo "$package/Tests/RoomcastMainActorSwift5Tests/ReadmeApp.swift differs from $readme_app (keep them one file)" >&2
    exit 1
fi
for snippet in "quick start" callbacks view; do
    compiled=$(sed -n "/\/\/ README: begin $snippet\$/,/\/\/ README: end $snippet\$/p" "$readme_app" |
        sed '1d;$d' | sed 's/^    //')
    shown=$(sed -n "/<!-- snippet: $snippet -->/,/^\`\`\`\$/p" "$package/README.md" |
        sed -n '/^```swift$/,/^```$/p' | sed '1d;$d')
    if [ -z "$compiled" ] || [ "$compiled" != "$shown" ]; then
        echo "the \"$snippet\" snippet of $package/README.md differs from $readme_app:" >&2
        diff <(printf '%s\n' "$shown") <(printf '%s\n' "$compiled") >&2 || true
        exit 1
    fi
done

if ! command -v swift >/dev/null 2>&1; then
    echo "swift: not found — Swift tests skipped (README snippets checked)"
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

# roomcast_ffi.pc in a directory of its own (never written into a prebuilt lib dir).
pc_dir=$(mktemp -d)
trap 'rm -rf "$pc_dir"' EXIT
bash $package/Linux/write-roomcast-pc.sh "$lib_dir" "$pc_dir" >/dev/null

export ROOMCAST_SERVER=$server
export PKG_CONFIG_PATH=$pc_dir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
# The linker's search path too (what the package README documents without pkg-config), and
# the loader's to run the tests.
export LIBRARY_PATH=$lib_dir${LIBRARY_PATH:+:$LIBRARY_PATH}
export LD_LIBRARY_PATH=$lib_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
unset ROOMCAST_FFI_LIB_DIR

cd $package
# No manifest cache: the manifest reads ROOMCAST_FFI_LIB_DIR, set or not. The same flags for
# both commands, so `swift test` reuses the build instead of compiling everything again (the
# Swift 6 targets check complete concurrency anyway; the flag matters for the Swift 5 ones).
flags=(--manifest-cache none -Xswiftc -strict-concurrency=complete)
swift build "${flags[@]}"
swift test "${flags[@]}" "$@"
