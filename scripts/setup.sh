#!/usr/bin/env bash
# Installs what the test suites need beyond the Rust toolchain, on Debian-like machines.
# Safe to run again: every step checks first.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=()
# Binding and service suites add their packages here.
# The server's Redis engine tests (server/tests/redis.rs) start a real redis-server.
apt_packages+=(redis-server)
# The FFI suite (scripts/test-ffi.sh) runs pytest: pip's, else Debian's python3-pytest.
python3 -c 'import pytest' >/dev/null 2>&1 || python3 -m pip install -q pytest >/dev/null 2>&1 \
    || apt_packages+=(python3 python3-pytest)

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
