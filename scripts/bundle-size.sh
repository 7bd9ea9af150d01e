#!/usr/bin/env bash
# Shipped size of the roomcast npm package (wasm + wasm-bindgen glue + TS wrapper, gzip -9)
# next to socket.io-client, centrifuge and phoenix, measured from their npm packages in the
# same run. Prints a Markdown table (docs/benchmarks.md, "JS bundle size").
#
# Usage: scripts/bundle-size.sh   (after scripts/build-wasm.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
pkg=bindings/js
[ -f "$pkg/wasm/roomcast_wasm_bg.wasm" ] || { echo "run scripts/build-wasm.sh first" >&2; exit 1; }

gz() { gzip -9c "$@" | wc -c; }
kb() { awk -v b="$1" 'BEGIN { printf "%.1f KB", b / 1000 }'; }
row() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$(kb "$3")" "$(kb "$4")"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent socket.io-client centrifuge phoenix >/dev/null 2>&1)
mkdir "$tmp/x"
for t in "$tmp"/*.tgz; do
    d="$tmp/x/$(basename "${t%.tgz}")"
    mkdir -p "$d" && tar xzf "$t" -C "$d"
done
ver() { sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$1"/package/package.json | head -1; }

wasm=$pkg/wasm/roomcast_wasm_bg.wasm
glue=$pkg/wasm/roomcast_wasm.js
wrapper=("$pkg/dist/api.js" "$pkg/dist/browser.js")
total=$(($(gz "$wasm") + $(gz "$glue") + $(cat "${wrapper[@]}" | gz)))
raw=$(($(stat -c %s "$wasm") + $(stat -c %s "$glue") + $(cat "${wrapper[@]}" | wc -c)))

echo "| package | file(s) | raw | gzip -9 |"
echo "|---|---|---|---|"
row "roomcast $(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' $pkg/package.json | head -1) (total)" \
    "wasm + glue + wrapper" "$raw" "$total"
row "… wasm" "roomcast_wasm_bg.wasm" "$(stat -c %s "$wasm")" "$(gz "$wasm")"
row "… JS glue" "roomcast_wasm.js" "$(stat -c %s "$glue")" "$(gz "$glue")"
row "… TS wrapper" "dist/api.js + browser.js" "$(cat "${wrapper[@]}" | wc -c)" "$(cat "${wrapper[@]}" | gz)"
d=$(echo "$tmp"/x/socket.io-client-*)
row "socket.io-client $(ver "$d")" "dist/socket.io.min.js" "$(stat -c %s "$d/package/dist/socket.io.min.js")" "$(gz "$d/package/dist/socket.io.min.js")"
d=$(echo "$tmp"/x/centrifuge-*)
row "centrifuge $(ver "$d")" "dist/centrifuge.js" "$(stat -c %s "$d/package/dist/centrifuge.js")" "$(gz "$d/package/dist/centrifuge.js")"
d=$(echo "$tmp"/x/phoenix-*)
row "phoenix $(ver "$d")" "priv/static/phoenix.min.js" "$(stat -c %s "$d/package/priv/static/phoenix.min.js")" "$(gz "$d/package/priv/static/phoenix.min.js")"
