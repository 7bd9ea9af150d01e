#!/usr/bin/env bash
# Release archives of roomcast-server and the roomcast CLI for the host target:
#
#   dist/roomcast-server-v<version>-<target>.tar.gz   roomcast-server, README.md, licences, notices
#   dist/roomcast-v<version>-<target>.tar.gz          roomcast, README.md, licences, notices
#   dist/SHA256SUMS                                   sha256sum of both (`sha256sum -c SHA256SUMS`)
#
# The version is the workspace's ([workspace.package] in Cargo.toml, docs/release.md); the
# target is rustc's host triple. THIRD-PARTY-NOTICES.md is generated for each binary by
# scripts/notices.sh (cargo-about, which scripts/setup.sh installs).
#
# Usage: scripts/release.sh [--out DIR] [--bin-dir DIR] [--smoke]
#   --out DIR      where the archives go (default: dist)
#   --bin-dir DIR  package the binaries already built in DIR (e.g. target/debug, as
#                  scripts/test.sh does, compressed fast) instead of
#                  `cargo build --release --locked`
#   --smoke        then install and run the archives as a user would (opt-in: it adds about
#                  10 s to a release build; scripts/test.sh runs it on its debug binaries):
#                  check SHA256SUMS, extract both into an empty directory, start the server on
#                  127.0.0.1 (a free port) with an empty data directory, make a token with
#                  `roomcast-server token`, publish one message with the CLI and listen to it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

out=dist
bin_dir=
smoke=0
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out=$2; shift 2 ;;
        --bin-dir) bin_dir=$2; shift 2 ;;
        --smoke) smoke=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "release: unknown argument $1 (--help)" >&2; exit 2 ;;
    esac
done

version=$(sed -n '/^\[workspace.package\]/,/^\[/{s/^version = "\(.*\)"$/\1/p}' Cargo.toml)
target=$(rustc -vV | sed -n 's/^host: //p')
[ -n "$version" ] && [ -n "$target" ] || { echo "release: no version or host target" >&2; exit 1; }

# gzip -9 for a release; -1 for binaries packed only to be tested (debug builds are large).
level=1
if [ -z "$bin_dir" ]; then
    cargo build --release --locked -p roomcast-server -p roomcast-cli
    bin_dir="${CARGO_TARGET_DIR:-target}/release"
    level=9
fi
for b in roomcast-server roomcast; do
    [ -x "$bin_dir/$b" ] || { echo "release: $bin_dir/$b not built" >&2; exit 1; }
done

mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# archive NAME BINARY README CRATE: NAME.tar.gz holding NAME/ with the binary, README.md, the
# licences and the crate's third-party notices.
archive() {
    local name=$1 bin=$2 readme=$3 crate=$4
    local dir="$stage/$name"
    mkdir -p "$dir"
    cp "$bin_dir/$bin" "$dir/"
    cp "$readme" "$dir/README.md"
    cp LICENSE-MIT LICENSE-APACHE "$dir/"
    bash scripts/notices.sh "$crate" "$dir/THIRD-PARTY-NOTICES.md"
    tar -C "$stage" --owner=0 --group=0 --numeric-owner -cf - "$name" | gzip "-$level" >"$out/$name.tar.gz"
    echo "release: $out/$name.tar.gz"
}
server="roomcast-server-v$version-$target"
cli="roomcast-v$version-$target"
archive "$server" roomcast-server server/README.md roomcast-server
archive "$cli" roomcast examples/cli/README.md roomcast-cli
(cd "$out" && sha256sum "$server.tar.gz" "$cli.tar.gz" >SHA256SUMS)
echo "release: $out/SHA256SUMS"

[ "$smoke" = 1 ] || exit 0

# --- install and run, as a user would, from the archives alone -------------------------------
echo "release: smoke test of the archives"
home=$(mktemp -d)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$stage" "$home"
}
trap cleanup EXIT
fail() {
    echo "release: smoke test failed: $*" >&2
    for f in server.out server.err listen.out listen.err publish.err; do
        [ -s "$home/$f" ] && { echo "--- $f" >&2; tail -20 "$home/$f" >&2; }
    done
    exit 1
}

cp "$out/SHA256SUMS" "$out/$server.tar.gz" "$out/$cli.tar.gz" "$home/"
(cd "$home" && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not match"
tar -xzf "$home/$server.tar.gz" -C "$home"
tar -xzf "$home/$cli.tar.gz" -C "$home"
for f in "$server/roomcast-server" "$cli/roomcast" "$server/LICENSE-MIT" "$cli/THIRD-PARTY-NOTICES.md"; do
    [ -s "$home/$f" ] || fail "$f missing from the archives"
done
server_bin="$home/$server/roomcast-server"
cli_bin="$home/$cli/roomcast"

# Port 0: the server binds a free port and prints the address once it accepts.
cd "$home"
"$server_bin" --listen 127.0.0.1:0 --data "$home/data" >server.out 2>server.err &
server_pid=$!
addr=
for _ in $(seq 1 300); do
    addr=$(sed -n 's|^roomcast-server listening on http://||p' server.out)
    [ -n "$addr" ] && break
    kill -0 "$server_pid" 2>/dev/null || fail "the server exited"
    sleep 0.1
done
[ -n "$addr" ] || fail "the server printed no address within 30 s"

token=$("$server_bin" token --data "$home/data" --user smoke --ttl 300) || fail "roomcast-server token"
export ROOMCAST_URL="ws://$addr/ws" ROOMCAST_TOKEN="$token"
# --since 0: the stored history first, so the order of the two commands does not matter.
timeout 30 "$cli_bin" listen --room smoke --no-store --since 0 --count 1 --json >listen.out 2>listen.err &
listen_pid=$!
timeout 30 "$cli_bin" publish --room smoke --no-store --count 1 --event smoke.message 2>publish.err >/dev/null ||
    fail "roomcast publish"
wait "$listen_pid" || fail "roomcast listen"
grep -q '"event":"smoke.message"' listen.out || fail "listen did not print the published message"
grep -q '"user":"smoke"' listen.out || fail "listen printed a message from someone else"
echo "release: smoke test passed (server on $addr, one message published and received)"
