#!/usr/bin/env bash
# The JS/TS suites: builds the package (scripts/build-wasm.sh), type-checks the generated
# .d.ts with the wrapper, runs the wasm-bindgen tests under Node, the Node tests against a
# real roomcast-server, and the dashboard in headless Chromium (screenshots in
# target/js-artifacts). scripts/setup.sh installs what it needs. With ROOMCAST_SERVER set it
# uses that server binary instead of building the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
step() { printf '\n==> %s\n' "$*"; }

if [ -z "${ROOMCAST_SERVER:-}" ]; then
    step "roomcast-server (debug) for the JS tests"
    # The whole workspace, so features unify as in `cargo test --workspace` and nothing rebuilds.
    cargo build -q --workspace
    export ROOMCAST_SERVER="$root/target/debug/roomcast-server"
fi

step "build the wasm package"
bash scripts/build-wasm.sh

cd bindings/js
[ -d node_modules ] || npm ci --no-audit --no-fund

step "tsc --noEmit over the generated .d.ts, the wrapper and the typing tests"
npx tsc --noEmit -p tsconfig.test.json

step "wasm-bindgen tests (Node)"
bash "$root/scripts/build-wasm.sh" --test

step "Node tests against a real server (behaviour, and the .d.ts against real values)"
node --experimental-websocket --test --test-timeout 60000 test/node.test.mjs test/types.test.mjs test/facade.test.mjs test/streams.test.mjs

step "dashboard and the React hooks in headless Chromium"
node --experimental-websocket --test --test-timeout 120000 test/browser.test.mjs test/react-browser.test.mjs test/streams-browser.test.mjs
