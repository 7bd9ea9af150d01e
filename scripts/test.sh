#!/usr/bin/env bash
# Runs every Roomcast test: formatting, lints, the Rust suites (machine on a virtual clock,
# server over loopback, end-to-end with the real server process), a short coverage-guided
# fuzzing stage and the binding suites.
#
# Usage: scripts/test.sh
# On a fresh Debian machine it first installs what the suites need (scripts/setup.sh:
# apt packages, pinned cargo tools, npm packages); every install step is skipped when present.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "setup"
bash scripts/setup.sh

step "docs/protocol.md in step with the shared contract"
bash scripts/check-protocol-doc.sh

step "release set: one version, one MSRV, licences in every package (docs/release.md)"
bash scripts/check-release.sh

step "third-party notices: every dependency's licence accepted (about.toml), committed notices current"
bash scripts/notices.sh --check

step "cargo fmt --check"
cargo fmt --all -- --check
(cd fuzz && cargo fmt -- --check)

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test (workspace)"
cargo test --workspace

step "release archives of the test build, installed and run from a clean directory (scripts/release.sh --smoke)"
# The debug binaries cargo test just built (the whole workspace, so features unify as there and
# nothing rebuilds; the JS suite builds the same below).
cargo build -q --workspace
bash scripts/release.sh --bin-dir target/debug --out target/release-smoke --smoke

step "fuzzing (cargo-fuzz on nightly: frame decoding, server frames, HTTP routes; 45 s each)"
bash scripts/fuzz.sh

# Binding suites (Swift through uniffi's Python bindings, React Native through the same FFI,
# JS through wasm) are added below.

step "FFI (uniffi: Python bindings against a real server; Swift bindings current)"
bash scripts/test-ffi.sh

step "React Native package (bindings current, tsc, JSI C++, Hermes bytecode, Node tests against a real server)"
bash scripts/test-react-native.sh

bash scripts/test-js.sh

step "Swift release script (zip, checksum, distribution manifest) on a fake XCFramework"
bash bindings/swift/scripts/test-release.sh

step "Swift package (swift build and swift test against a real server; skipped without swift)"
bash scripts/test-swift.sh
