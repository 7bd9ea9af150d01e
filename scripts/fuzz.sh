#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz, libFuzzer, nightly toolchain) of frame decoding, the
# server's per-frame handling and its HTTP routes (targets in fuzz/fuzz_targets, docs/fuzzing.md).
#
# Usage:
#   scripts/fuzz.sh                        every target for 45 s (the stage of scripts/test.sh):
#                                          dev build, no sanitizer
#   ROOMCAST_FUZZ_SECS=N scripts/fuzz.sh   every target for N seconds
#   scripts/fuzz.sh --long                 every target until 10 million inputs or 75 min:
#                                          release build with AddressSanitizer
#   scripts/fuzz.sh [--long] TARGET...     only these targets
# ROOMCAST_FUZZ_SECS, ROOMCAST_FUZZ_RUNS (inputs) and ROOMCAST_FUZZ_SANITIZER (address or
# none) override either mode; ROOMCAST_FUZZ_JOBS targets run at once (default 2: each
# fuzzer uses one core).
#
# For each target it prints the inputs executed, their rate and the new corpus entries (from
# libFuzzer's final stats), and fails on a crash, panic, hang (one input over 10 s) or an
# input using over 2 GiB; the input that did it is saved in fuzz/artifacts/TARGET/ and
# `cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/<file>` replays it. The corpus grows
# in fuzz/corpus/TARGET (not committed), seeded from fuzz/seeds/TARGET.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${ROOMCAST_FUZZ_SECS:-45}
runs=${ROOMCAST_FUZZ_RUNS:--1}
sanitizer=${ROOMCAST_FUZZ_SANITIZER:-none}
# The short stage builds in the dev profile (dependencies at opt-level 1, see fuzz/Cargo.toml)
# without a sanitizer: a fraction of the build time of cargo-fuzz's release build (one codegen
# unit per crate), which the long run uses for its speed per input.
profile=(--dev)
targets=()
for arg in "$@"; do
    case "$arg" in
        --long)
            secs=${ROOMCAST_FUZZ_SECS:-4500}
            runs=${ROOMCAST_FUZZ_RUNS:-10000000}
            sanitizer=${ROOMCAST_FUZZ_SANITIZER:-address}
            # cargo-fuzz's default: release with debug assertions and overflow checks.
            profile=()
            ;;
        -*) echo "unknown option $arg" >&2; exit 2 ;;
        *) targets+=("$arg") ;;
    esac
done
jobs=${ROOMCAST_FUZZ_JOBS:-2}

bash scripts/setup.sh fuzz
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list --fuzz-dir fuzz)
fi

# The fuzz crate is its own workspace with its own target directory: nightly and sanitizer
# flags never invalidate the stable build.
export CARGO_TARGET_DIR=${ROOMCAST_FUZZ_TARGET_DIR:-$PWD/fuzz/target}
fuzz=(cargo +nightly fuzz)
flags=(--fuzz-dir fuzz "${profile[@]}" --sanitizer "$sanitizer")
echo "building ${targets[*]} (nightly, ${profile[*]:---release}, sanitizer $sanitizer)"
for t in "${targets[@]}"; do
    "${fuzz[@]}" build "${flags[@]}" "$t"
done

# The server targets keep a SQLite store under TMPDIR and commit (fsync) per publish: a
# tmpfs keeps that off the disk.
tmp_root=${TMPDIR:-/tmp}
[ -d /dev/shm ] && [ -w /dev/shm ] && tmp_root=/dev/shm
work=$(mktemp -d "$tmp_root/roomcast-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

logs=$CARGO_TARGET_DIR/fuzz-logs
mkdir -p "$logs"

run() {
    local t=$1 corpus=fuzz/corpus/$1 seeds=()
    mkdir -p "$corpus" "fuzz/artifacts/$t" "$work/$t"
    [ -d "fuzz/seeds/$t" ] && seeds=("fuzz/seeds/$t")
    TMPDIR="$work/$t" "${fuzz[@]}" run "${flags[@]}" "$t" "$corpus" "${seeds[@]}" -- \
        -max_total_time="$secs" -runs="$runs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -dict=fuzz/dict/protocol.dict >"$logs/$t.log" 2>&1
}

# One line per target from libFuzzer's final stats.
report() {
    local t=$1 status=$2 log=$logs/$1.log
    local runs rate new
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    new=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
    if [ "$status" -eq 0 ]; then
        local took
        took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
        printf '%-14s ok      %12s inputs in %ss, %s exec/s, %s new corpus entries\n' \
            "$t" "${runs:-?}" "${took:-?}" "${rate:-?}" "${new:-?}"
    else
        printf '%-14s FAILED  (exit %s) after %s inputs; log: %s\n' "$t" "$status" "${runs:-?}" "$log"
        grep -E 'panicked at|ERROR: libFuzzer|ERROR: AddressSanitizer|Test unit written' "$log" \
            | head -5 | sed 's/^/    /'
    fi
}

echo "fuzzing ${targets[*]}: ${secs}s each, $jobs at a time"
declare -A pids=()
failed=0
# Waits for one running target and reports it.
reap() {
    local pid status=0
    wait -n -p pid "${!pids[@]}" || status=$?
    report "${pids[$pid]}" "$status"
    unset "pids[$pid]"
    [ "$status" -eq 0 ] || failed=1
}
for t in "${targets[@]}"; do
    while [ ${#pids[@]} -ge "$jobs" ]; do reap; done
    run "$t" &
    pids[$!]=$t
done
while [ ${#pids[@]} -gt 0 ]; do reap; done
exit "$failed"
