#!/usr/bin/env bash
# npm's prepack for bindings/js (`npm pack`, `npm publish`): the tarball ships build outputs
# (dist/: the TypeScript layer; wasm/: the module and its glue), which a clean clone does not
# have, so it builds them with scripts/build-wasm.sh first.
#
# ROOMCAST_PACK_PREBUILT=1 packs what an earlier scripts/build-wasm.sh left instead of building
# again (a test stage that has just built it); the files the package's `exports` name must
# then exist and be newer than the sources.
set -euo pipefail
cd "$(dirname "$0")/.."
pkg=bindings/js
needed=(dist/browser.js dist/browser.d.ts dist/node.js dist/react.js dist/react.d.ts wasm/roomcast_wasm.js wasm/roomcast_wasm.d.ts
    wasm/roomcast_wasm_bg.wasm)

if [ "${ROOMCAST_PACK_PREBUILT:-}" != 1 ]; then
    bash scripts/build-wasm.sh
fi
for f in "${needed[@]}"; do
    if [ ! -s "$pkg/$f" ]; then
        echo "prepack: $pkg/$f missing: run scripts/build-wasm.sh (or pack without ROOMCAST_PACK_PREBUILT)" >&2
        exit 1
    fi
done
if [ "${ROOMCAST_PACK_PREBUILT:-}" = 1 ]; then
    # Against the TypeScript output, the build's last step (the shared façade is copied into
    # src/shared just before it).
    stale=$(find "$pkg/src" bindings/shared sdk-wasm/src sdk-core/src -newer "$pkg/dist/browser.js" -type f | head -3)
    if [ -n "$stale" ]; then
        echo "prepack: ROOMCAST_PACK_PREBUILT=1 but sources changed since the build:" >&2
        echo "$stale" >&2
        exit 1
    fi
fi
