#!/usr/bin/env bash
# Installs what the test suites need beyond the Rust toolchain, on Debian-like machines.
# Safe to run again: every step checks first.
#
# Usage: scripts/setup.sh        everything
#        scripts/setup.sh fuzz   only what the fuzz stage needs (scripts/fuzz.sh calls this)
set -euo pipefail
cd "$(dirname "$0")/.."

# The fuzz stage (scripts/fuzz.sh): the nightly toolchain (libFuzzer's instrumentation and
# sanitizers are nightly-only) and cargo-fuzz at a pinned version.
cargo_fuzz=0.13.2
rustup run nightly rustc --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
if [ "$(cargo fuzz --version 2>/dev/null | cut -d' ' -f2)" != "$cargo_fuzz" ]; then
    cargo install -q --locked cargo-fuzz --version "$cargo_fuzz"
fi
[ "${1:-}" = fuzz ] && exit 0

apt_packages=()
# Binding and service suites add their packages here.
# The server's Redis engine tests (server/tests/redis.rs) start a real redis-server.
apt_packages+=(redis-server)
# The FFI suite (scripts/test-ffi.sh) runs pytest: pip's, else Debian's python3-pytest.
python3 -c 'import pytest' >/dev/null 2>&1 || python3 -m pip install -q pytest >/dev/null 2>&1 \
    || apt_packages+=(python3 python3-pytest)

# The JS suite (scripts/test-js.sh): Debian's wasm32-capable rustc with std sources (used when
# rustup has no wasm32 target), binaryen's wasm-opt, headless Chromium.
apt_packages+=(rustc-web cargo-web rust-web-src binaryen chromium chromium-driver)

# The React Native suite compiles the generated JSI C++ with the host's g++.
apt_packages+=(g++)

if [ ${#apt_packages[@]} -gt 0 ]; then
    missing=()
    for p in "${apt_packages[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    fi
fi

# Third-party notices (scripts/notices.sh): cargo-about at a pinned version, its command line
# included (feature cli; the crate has no default features), built once (a few minutes; its
# release profile's fat LTO is turned off: it only makes the build slower here).
cargo_about=0.9.3
if [ "$(cargo about --version 2>/dev/null | cut -d' ' -f2)" != "$cargo_about" ]; then
    CARGO_PROFILE_RELEASE_LTO=false cargo install -q --locked cargo-about --version "$cargo_about" --features cli
fi

# JS suite: wasm-bindgen-cli exactly at the crate's version in Cargo.lock, and the npm
# package's dev dependencies (TypeScript, playwright-core) from its lockfile.
wbg=$(sed -n '/^name = "wasm-bindgen"$/{n;s/^version = "\(.*\)"$/\1/p;q}' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$wbg" ]; then
    cargo install -q wasm-bindgen-cli --version "$wbg"
fi
if [ ! bindings/js/node_modules/.package-lock.json -nt bindings/js/package-lock.json ]; then
    (cd bindings/js && npm ci --no-audit --no-fund)
fi

# React Native suite (scripts/test-react-native.sh): the package's dev dependencies from its
# lockfile (TypeScript, esbuild, hermes-compiler's hermesc, @ubjs/node; .npmrc keeps npm from
# installing the react-native peer), and from npm tarballs only what the suite compiles
# against: react-native's JSI and CallInvoker headers and type declarations, and the
# declarations the example app needs (React's, NetInfo's). Not `npm install react-native`:
# its dependency tree is large and none of it runs here.
if [ ! bindings/react-native/node_modules/.package-lock.json -nt bindings/react-native/package-lock.json ]; then
    (cd bindings/react-native && npm ci --no-audit --no-fund)
fi
react_native=0.88.1
example_types=(@types/react@19.1.17 csstype@3.2.4 @react-native-community/netinfo@12.0.1)
rn_dir=target/react-native-headers
rn_stamp="react-native@$react_native ${example_types[*]}"
if [ "$(cat "$rn_dir/VERSION" 2>/dev/null)" != "$rn_stamp" ]; then
    rn_tmp=$(mktemp -d)
    (cd "$rn_tmp" && npm pack --silent "react-native@$react_native" "${example_types[@]}" >/dev/null)
    rm -rf "$rn_dir" && mkdir -p "$rn_dir"
    tar xzf "$rn_tmp/react-native-$react_native.tgz" -C "$rn_dir" --strip-components=1 \
        package/package.json package/LICENSE package/ReactCommon/jsi package/ReactCommon/callinvoker \
        package/ReactCommon/react/cxxstableapi \
        package/types_generated package/src/types
    for spec in "${example_types[@]}"; do
        name=${spec%@*}
        tarball=$(echo "$name" | sed 's|^@||; s|/|-|')-${spec##*@}.tgz
        mkdir -p "$rn_dir/types/$name"
        tar xzf "$rn_tmp/$tarball" -C "$rn_dir/types/$name" --strip-components=1
    done
    rm -rf "$rn_tmp"
    echo "$rn_stamp" > "$rn_dir/VERSION"
fi
