#!/usr/bin/env bash
# Builds the JS package: sdk-wasm for wasm32, wasm-bindgen glue (web target, weak refs) into
# bindings/js/wasm, wasm-opt -Oz --converge (binaryen from npm) when it makes the gzipped
# module smaller, the TypeScript façade (bindings/shared, copied by scripts/sync-ts.mjs) and the
# wrapper into bindings/js/dist, and the dashboard bundled with React (examples/dashboard/vendor,
# scripts/build-dashboard.mjs).
#
# Toolchain: a rustup wasm32-unknown-unknown target when installed; otherwise Debian's
# rustc-web + rust-web-src with -Zbuild-std (apt-get install rustc-web cargo-web rust-web-src),
# which also allows panic=immediate-abort for a smaller module.
# `scripts/build-wasm.sh --test` runs sdk-wasm's wasm-bindgen tests in Node instead.
# wasm-bindgen-cli must be exactly the version of the wasm-bindgen crate in Cargo.lock
# (scripts/setup.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

target=wasm32-unknown-unknown
profile=wasm-release
export CARGO_TARGET_DIR="$root/target/wasm"
wasm="$CARGO_TARGET_DIR/$target/$profile/roomcast_wasm.wasm"
pkg="$root/bindings/js"

# Runs cargo for wasm32 with whichever toolchain is there; extra RUSTFLAGS only where allowed.
cargo_wasm() {
    if rustup target list --installed 2>/dev/null | grep -qx "$target"; then
        echo "build-wasm: rustup target $target"
        cargo "$@" -p roomcast-wasm --target "$target"
    elif [ -x /usr/bin/rustc ] && [ -d "$(/usr/bin/rustc --print sysroot)/lib/rustlib/src/rust/library" ]; then
        echo "build-wasm: Debian rustc-web with -Zbuild-std"
        # rust-lld ships with rustup's host toolchain.
        if ! command -v rust-lld >/dev/null; then
            PATH="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin:$PATH"
        fi
        # shellcheck disable=SC2086
        RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc RUSTFLAGS="${nightly_flags:-}" \
            /usr/bin/cargo "$@" -p roomcast-wasm --target "$target" -Zbuild-std=std,panic_abort \
            ${std_features:-}
    else
        echo "build-wasm: no wasm32 toolchain: 'rustup target add $target', or on Debian" >&2
        echo "  'apt-get install rustc-web cargo-web rust-web-src'" >&2
        exit 1
    fi
}

want=$(sed -n '/^name = "wasm-bindgen"$/{n;s/^version = "\(.*\)"$/\1/p;q}' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2 || true)
if [ "$have" != "$want" ]; then
    echo "build-wasm: wasm-bindgen-cli $want needed (found '${have:-none}'):" >&2
    echo "  cargo install wasm-bindgen-cli --version $want" >&2
    exit 1
fi

if [ "${1:-}" = "--test" ]; then
    # sdk-wasm's wasm-bindgen tests, in Node through wasm-bindgen-test-runner (dev profile:
    # the test harness needs unwinding-free panics with messages).
    export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
    nightly_flags="" cargo_wasm test --lib
    exit 0
fi

# Without unwinding there is nothing to format a panic for; only the -Zbuild-std path allows
# dropping the panic machinery.
# No Debug text or panic locations either: every message an app sees is built from static
# text without core::fmt, so nothing visible depends on them.
# std's optimize_for_size feature picks its smaller algorithms (sorting, formatting of what
# remains).
# No reference types or multi-value: wasm-bindgen then passes JS values through its heap
# table instead of an externref shim per export; the module shrinks by about 0.8 KB gzipped,
# the glue grows by 0.2 KB (docs/benchmarks.md).
nightly_flags="-Zunstable-options -Cpanic=immediate-abort -Zfmt-debug=none -Zlocation-detail=none"
nightly_flags="$nightly_flags -Ctarget-feature=-reference-types,-multivalue"
std_features="-Zbuild-std-features=optimize_for_size" cargo_wasm build --profile "$profile"

rm -rf "$pkg/wasm"
wasm-bindgen --target web --weak-refs --remove-name-section \
    --out-dir "$pkg/wasm" --out-name roomcast_wasm "$wasm"

# The package's dev tools: esbuild, tsc, and binaryen's wasm-opt (a pinned npm release: the
# distribution's binaryen is often too old to shrink this module). A lock newer than the
# installed tree (a dependency added) reinstalls.
if [ ! -d "$pkg/node_modules" ] || [ "$pkg/package-lock.json" -nt "$pkg/node_modules/.package-lock.json" ]; then
    (cd "$pkg" && npm ci --no-audit --no-fund)
fi

bg="$pkg/wasm/roomcast_wasm_bg.wasm"
wasm_opt="$pkg/node_modules/.bin/wasm-opt"
[ -x "$wasm_opt" ] || wasm_opt=$(command -v wasm-opt || true)
if [ -n "$wasm_opt" ]; then
    # Kept only when the gzipped module shrinks: a smaller module can compress worse.
    features="--enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int"
    features="$features --enable-mutable-globals --enable-reference-types --enable-multivalue"
    # shellcheck disable=SC2086
    # --low-memory-unused: the first 1 KiB of memory is the bottom of Rust's 1 MiB stack,
    # never reached, so constant offsets fold into loads and stores.
    # -ocimfs 20: a function with one caller is inlined only when small. Inlining large ones
    # into their caller shrinks the raw module but makes it compress worse: giant functions
    # with many locals repeat less (1.5 KB gzipped, docs/benchmarks.md). -aimfs 4: functions
    # of up to 4 instructions (accessors, wasm-bindgen's heap helpers) inlined everywhere
    # (default 2; 0.25 KB).
    if "$wasm_opt" -ocimfs 20 -aimfs 4 -Oz --converge --low-memory-unused --strip-producers --strip-target-features $features \
        "$bg" -o "$bg.opt" 2>/dev/null &&
        [ "$(gzip -9c "$bg.opt" | wc -c)" -lt "$(gzip -9c "$bg" | wc -c)" ]; then
        mv "$bg.opt" "$bg"
        echo "build-wasm: $("$wasm_opt" --version) -Oz --converge applied"
    else
        rm -f "$bg.opt"
        echo "build-wasm: wasm-opt did not shrink the gzipped module; kept the original"
    fi
    # Short import and export names on both sides of the boundary (see the script). The
    # module's raw type declarations would then name exports that no longer exist: dropped.
    # shellcheck disable=SC2086
    "$wasm_opt" $features --minify-imports-and-exports-and-modules "$bg" -o "$bg.min" |
        node "$root/scripts/minify-wasm-names.mjs" "$pkg/wasm/roomcast_wasm.js" "$bg.min"
    mv "$bg.min" "$bg"
    rm -f "$pkg/wasm/roomcast_wasm_bg.wasm.d.ts"
fi

# The TypeScript façade shared with the React Native package (bindings/shared) into src/shared.
node "$root/scripts/sync-ts.mjs"
rm -rf "$pkg/dist"
(cd "$pkg" && npx tsc -p tsconfig.json)

# The dashboard, bundled with React and this package (examples/dashboard/vendor).
node "$root/scripts/build-dashboard.mjs"

printf 'build-wasm: %s bytes wasm, %s bytes gzip -9 (wasm + glue)\n' \
    "$(stat -c %s "$bg")" \
    "$(($(gzip -9c "$bg" | wc -c) + $(gzip -9c "$pkg/wasm/roomcast_wasm.js" | wc -c)))"
