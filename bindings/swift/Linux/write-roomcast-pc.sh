#!/usr/bin/env bash
# Writes roomcast_ffi.pc for the libroomcast_ffi.so in LIB_DIR, so that a Swift package that
# depends on Roomcast by version (`.package(url:from:)`) finds the library through pkg-config,
# with no unsafe flags.
#
# Usage: bindings/swift/Linux/write-roomcast-pc.sh LIB_DIR [PC_DIR]
#   LIB_DIR: the directory holding libroomcast_ffi.so (e.g. target/release, or a release's lib).
#   PC_DIR:  where to write roomcast_ffi.pc (default: LIB_DIR/pkgconfig).
# Then build with PKG_CONFIG_PATH=PC_DIR and run with LD_LIBRARY_PATH=LIB_DIR (or install the
# library where the system looks and run ldconfig).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 LIB_DIR [PC_DIR]" >&2; exit 2; }
lib_dir=$(cd "$1" && pwd)
pc_dir=${2:-$lib_dir/pkgconfig}
[ -f "$lib_dir/libroomcast_ffi.so" ] || { echo "no libroomcast_ffi.so in $lib_dir" >&2; exit 1; }
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$here/../../../Cargo.toml" 2>/dev/null | head -n 1)
mkdir -p "$pc_dir"
sed -e "s|@LIBDIR@|$lib_dir|" -e "s|@VERSION@|${version:-0.0.0}|" "$here/roomcast_ffi.pc.in" \
    > "$pc_dir/roomcast_ffi.pc"
echo "$pc_dir/roomcast_ffi.pc"
