#!/usr/bin/env bash
# Shipped size of the roomcast npm package (wasm + wasm-bindgen glue + TS wrapper, gzip -9)
# next to socket.io-client, centrifuge and phoenix, measured from their npm packages in the
# same run. JavaScript is measured twice: as shipped, and minified the way an app's bundler
# would (esbuild --minify, applied to every package alike). Prints a Markdown table
# (docs/benchmarks.md, "JS bundle size").
#
# Usage: scripts/bundle-size.sh   (after scripts/build-wasm.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
pkg=$(pwd)/bindings/js
[ -f "$pkg/wasm/roomcast_wasm_bg.wasm" ] || { echo "run scripts/build-wasm.sh first" >&2; exit 1; }
esbuild=$pkg/node_modules/.bin/esbuild
[ -x "$esbuild" ] || (cd "$pkg" && npm ci --no-audit --no-fund)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

gz() { gzip -9c "$@" | wc -c; }
kb() { awk -v b="$1" 'BEGIN { printf "%.1f KB", b / 1000 }'; }
# Minified size of one JS file (gzip -9), every package through the same esbuild.
min_gz() {
    "$esbuild" "$1" --minify --log-level=warning --outfile="$tmp/min.js"
    gz "$tmp/min.js"
}
row() { printf '| %s | %s | %s | %s | %s |\n' "$1" "$2" "$(kb "$3")" "$(kb "$4")" "$(kb "$5")"; }

(cd "$tmp" && npm pack --silent socket.io-client centrifuge phoenix >/dev/null 2>&1)
mkdir "$tmp/x"
for t in "$tmp"/*.tgz; do
    d="$tmp/x/$(basename "${t%.tgz}")"
    mkdir -p "$d" && tar xzf "$t" -C "$d"
done
ver() { sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$1"/package/package.json | head -1; }

wasm=$pkg/wasm/roomcast_wasm_bg.wasm
# The package's browser entry with the glue and wrapper it imports, as one minified module;
# the wasm stays a separate file fetched next to it.
"$esbuild" "$pkg/dist/browser.js" --bundle --minify --format=esm --platform=browser \
    --log-level=warning --outfile="$tmp/roomcast.js"
# roomcast/react, bundled as an app would (React itself external: the app has it).
"$esbuild" "$pkg/dist/react.js" --bundle --minify --format=esm --platform=browser --external:react \
    --log-level=warning --outfile="$tmp/roomcast-react.js"
js=("$pkg/wasm/roomcast_wasm.js" "$pkg/dist/api.js" "$pkg/dist/browser.js")
# The shared façade (bindings/shared, in dist/shared) is part of the core import; its React
# hooks are not (only roomcast/react imports them).
js+=("$pkg/dist/platform.js" "$pkg/dist/store.js" "$pkg/dist/shared/index.js" "$pkg/dist/shared/client.js"
    "$pkg/dist/shared/decode.js" "$pkg/dist/shared/errors.js" "$pkg/dist/shared/types.js")
if grep -q useSyncExternalStore "$tmp/roomcast.js"; then
    echo "the core import bundles the React hooks" >&2
    exit 1
fi
js_raw=$(cat "${js[@]}" | wc -c)
js_gz=$(($(gz "${js[0]}") + $(cat "${js[@]:1}" | gz)))
js_min=$(gz "$tmp/roomcast.js")
wasm_gz=$(gz "$wasm")

echo "| package | file(s) | raw | gzip -9 as shipped | gzip -9 minified |"
echo "|---|---|---|---|---|"
row "roomcast $(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$pkg/package.json" | head -1) (total)" \
    "wasm + JS" "$(($(stat -c %s "$wasm") + js_raw))" "$((wasm_gz + js_gz))" "$((wasm_gz + js_min))"
row "… wasm" "roomcast_wasm_bg.wasm" "$(stat -c %s "$wasm")" "$wasm_gz" "$wasm_gz"
row "… JS" "glue + dist/ (api, browser, store, shared façade)" "$js_raw" "$js_gz" "$js_min"
react_raw=$(stat -c %s "$pkg/dist/react.js" "$pkg/dist/shared/react.js" | awk '{ s += $1 } END { print s }')
row "roomcast/react (not in the total)" "dist/react.js + dist/shared/react.js" "$react_raw" \
    "$(cat "$pkg/dist/react.js" "$pkg/dist/shared/react.js" | gz)" "$(gz "$tmp/roomcast-react.js")"
for spec in "socket.io-client:dist/socket.io.min.js" "centrifuge:dist/centrifuge.js" \
    "phoenix:priv/static/phoenix.min.js"; do
    name=${spec%%:*} file=${spec#*:}
    d=$(echo "$tmp"/x/"$name"-[0-9]*)
    f=$d/package/$file
    row "$name $(ver "$d")" "$file" "$(stat -c %s "$f")" "$(gz "$f")" "$(min_gz "$f")"
done
