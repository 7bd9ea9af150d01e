#!/usr/bin/env bash
# The React Native package's suites, on Linux without a device or a mobile toolchain: what can
# honestly run here, against the committed generated bindings and the workspace's own build.
#
#   1. the committed bindings match the library: their API checksums and FFI function lists
#      against the cdylib's (a full regeneration needs ubrn's CLI: scripts/gen-react-native.sh
#      --check, opt-in);
#   2. tsc --noEmit over the generated (JSI and N-API flavours) and hand-written TypeScript,
#      against react-native's own type declarations; the committed declarations the package
#      ships (lib/typescript) are current, and examples/react-native type-checks against them;
#   3. the generated JSI C++ and the Turbo Module's C++ compile (g++ -fsyntax-only) against
#      the JSI and CallInvoker headers the react-native npm package ships;
#   4. the package's JS, bundled as an app's bundler would (esbuild), compiles to Hermes
#      bytecode with hermesc (npm hermes-compiler), and uses nothing Hermes lacks;
#   5. the Node tests: the typed layer over the N-API flavour of the same generated bindings
#      (@ubjs/node), against a real roomcast-server.
#
# Usage: scripts/test-react-native.sh   (scripts/setup.sh installs what it needs)
# Reuses the workspace's debug build (the cdylib and roomcast-server); with ROOMCAST_FFI_LIB
# and ROOMCAST_SERVER set it builds no Rust and uses those files.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
pkg=$root/bindings/react-native
rn=$root/target/react-native-headers
out=$root/target/react-native
step() { printf '\n==> %s\n' "$*"; }

if [ -z "${ROOMCAST_FFI_LIB:-}" ] || [ -z "${ROOMCAST_SERVER:-}" ]; then
    # The whole workspace, so features unify as in `cargo test --workspace` and nothing rebuilds.
    cargo build -q --workspace
    export ROOMCAST_FFI_LIB="$root/target/debug/libroomcast_ffi.so"
    export ROOMCAST_SERVER="$root/target/debug/roomcast-server"
fi
[ -d "$rn/types/@types/react" ] && [ -x "$pkg/node_modules/.bin/tsc" ] || bash scripts/setup.sh
rm -rf "$out" && mkdir -p "$out"
# The TypeScript façade shared with the web package (bindings/shared) into src/shared.
node scripts/sync-ts.mjs

step "React Native bindings match the library (API checksums, FFI functions)"
node "$pkg/test/check-bindings.mjs" "$ROOMCAST_FFI_LIB"

step "tsc (generated JSI and N-API TypeScript, typed layer, tests; the package's declarations and the example app)"
# The app's view (JSI flavour, react-native's declarations, no ES2021 library), then the
# N-API flavour and the tests (Node's).
(cd "$pkg" && node_modules/.bin/tsc --noEmit -p tsconfig.check.json && node_modules/.bin/tsc --noEmit -p tsconfig.node.json)
# The declarations an app reads (package.json "types", committed in lib/typescript) are what
# the sources emit now; the example app type-checks against them, with React's,
# react-native's and NetInfo's declarations.
"$pkg/node_modules/.bin/tsc" -p "$pkg/tsconfig.build.json" --outDir "$out/types"
if ! diff -r "$pkg/lib/typescript" "$out/types" >/dev/null; then
    echo "bindings/react-native/lib/typescript is stale: run \`npm run declarations\` there and commit" >&2
    diff -r "$pkg/lib/typescript" "$out/types" | head -20 >&2
    exit 1
fi
"$pkg/node_modules/.bin/tsc" -p examples/react-native/tsconfig.check.json

step "JSI C++ compiles against react-native's JSI headers (g++ -fsyntax-only)"
ubrn_cpp=$pkg/node_modules/uniffi-bindgen-react-native/cpp/includes
for source in "$pkg"/cpp/generated/*.cpp "$pkg"/cpp/*.cpp; do
    g++ -std=c++20 -fsyntax-only -Wall -Werror \
        -I "$rn/ReactCommon" -I "$rn/ReactCommon/jsi" -I "$rn/ReactCommon/callinvoker" -I "$ubrn_cpp" \
        -I "$pkg/cpp" -I "$pkg/cpp/generated" "$source"
    echo "ok $(basename "$source")"
done

step "the bundled package compiles to Hermes bytecode (hermesc), using only what Hermes and React Native provide"
(cd "$pkg" && node test/build.mjs hermes "$out/hermes")
bundle=$out/hermes/roomcast-react-native.js
# Hermes has no WebAssembly and no FinalizationRegistry: nothing may reach for them.
if grep -nE '\b(WebAssembly|FinalizationRegistry)\b' "$bundle"; then
    echo "the React Native bundle uses what Hermes lacks" >&2
    exit 1
fi
"$pkg/node_modules/hermes-compiler/hermesc/linux64-bin/hermesc" -emit-binary -O \
    -out "$out/hermes/roomcast-react-native.hbc" "$bundle" 2>"$out/hermes/hermesc.log"
# In strict code (esbuild's CommonJS output is), hermesc names every global it does not define
# itself; each must be one that React Native's runtime sets up (its polyfills and timers,
# Metro's module system).
rn_globals='AbortController clearInterval clearTimeout console module Promise queueMicrotask require setInterval setTimeout'
unknown=$(grep -o 'the variable "[^"]*" was not declared' "$out/hermes/hermesc.log" | cut -d'"' -f2 | sort -u |
    while read -r name; do case " $rn_globals " in *" $name "*) ;; *) echo "$name" ;; esac; done)
if [ -n "$unknown" ]; then
    echo "the React Native bundle uses globals neither Hermes nor React Native define: $unknown" >&2
    exit 1
fi
echo "ok: $(stat -c %s "$out/hermes/roomcast-react-native.hbc") bytes of bytecode"

step "Node tests: the typed layer over @ubjs/node, against a real server"
(cd "$pkg" && node test/build.mjs node "$out/node")
# ubrn's --lib-colocated: the bindings load the cdylib from next to their own module.
ln -sf "$ROOMCAST_FFI_LIB" "$out/node/$(basename "$ROOMCAST_FFI_LIB")"
node --test --test-timeout 60000 "$out"/node/*.test.mjs
