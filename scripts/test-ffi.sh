#!/usr/bin/env bash
# The FFI suite: the uniffi library driven from Python against a real roomcast-server, plus
# the check that the committed Swift bindings match the library.
#
# Usage: scripts/test-ffi.sh [pytest args...]
#   1. builds roomcast-ffi (cdylib), roomcast-server and the workspace's uniffi-bindgen;
#   2. generates Python bindings from that library into target/ffi-python (not committed);
#   3. regenerates the Swift bindings into a temp dir and diffs them against bindings/swift:
#      a difference means scripts/gen-swift.sh was not re-run after an FFI change;
#   4. runs the pytest suite in bindings/python-tests (needs pytest: scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

# The whole workspace, so features unify exactly as in `cargo test --workspace` and the
# artifacts of that run are reused instead of rebuilt.
cargo build -q --workspace

lib=
for candidate in target/debug/libroomcast_ffi.so target/debug/libroomcast_ffi.dylib; do
    [ -f "$candidate" ] && lib=$candidate && break
done
[ -n "$lib" ] || { echo "roomcast-ffi cdylib not found in target/debug" >&2; exit 1; }

# 2. Python bindings next to a copy of the library (the generated module loads it from its
#    own directory).
py_out=target/ffi-python
rm -rf "$py_out" && mkdir -p "$py_out"
target/debug/uniffi-bindgen generate --library "$lib" --crate roomcast_ffi \
    --language python --out-dir "$py_out" >/dev/null
cp "$lib" "$py_out/"

# 3. The committed Swift sources must be what the library generates now.
swift_tmp=$(mktemp -d)
trap 'rm -rf "$swift_tmp"' EXIT
bash scripts/gen-swift.sh --lib "$lib" --out "$swift_tmp" >/dev/null
for path in Sources/RoomcastFFI Headers/RoomcastCoreFFI; do
    if ! diff -r "bindings/swift/$path" "$swift_tmp/$path" >/dev/null; then
        echo "bindings/swift/$path is stale: run scripts/gen-swift.sh and commit the result" >&2
        diff -r "bindings/swift/$path" "$swift_tmp/$path" | head -40 >&2
        exit 1
    fi
done
echo "Swift bindings are current"

# 4. The suite.
ROOMCAST_FFI_PY="$PWD/$py_out" ROOMCAST_SERVER="$PWD/target/debug/roomcast-server" \
    python3 -m pytest bindings/python-tests -q -p no:cacheprovider "$@"
