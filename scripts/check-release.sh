#!/usr/bin/env bash
# Checks that the release set agrees with itself (docs/release.md), in about a second:
# - one version: every workspace crate inherits [workspace.package] version; the roomcast-*
#   entries of [workspace.dependencies], both package.json files and their lockfiles, the
#   newest version in CHANGELOG.md and the Swift install instructions say the same;
# - one MSRV: every crate inherits [workspace.package] rust-version, none declares less than a
#   path dependency of it, and no dependency in Cargo.lock that the workspace's crates build
#   (normal and build dependencies, any target) declares more;
# - licences: LICENSE-MIT and LICENSE-APACHE in every published package, identical to the
#   root's, and in each published crate's package list;
# - crates: the published ones are publishable (no `publish = false`) and their path
#   dependencies carry a version.
#
# Usage: scripts/check-release.sh
# Needs cargo and python3 (3.11+); reads Cargo.lock's dependencies (cargo fetches them if
# missing, as any build would).
set -euo pipefail
cd "$(dirname "$0")/.."

published_crates=(roomcast-core roomcast-server roomcast-cli)
published_dirs=(sdk-core server examples/cli bindings/js bindings/react-native bindings/swift)

meta=$(mktemp)
trap 'rm -f "$meta"' EXIT
cargo metadata --format-version 1 --locked >"$meta"

fail=0
problem() { echo "check-release: $*" >&2; fail=1; }

for d in . "${published_dirs[@]}"; do
    for f in LICENSE-MIT LICENSE-APACHE; do
        if [ ! -f "$d/$f" ]; then
            problem "$d/$f is missing"
        elif [ "$d" != . ] && ! cmp -s "$f" "$d/$f"; then
            problem "$d/$f differs from the root's $f (copy it again)"
        fi
    done
done
for c in "${published_crates[@]}"; do
    list=$(cargo package --list --allow-dirty --locked -p "$c" 2>/dev/null) ||
        { problem "cargo package --list -p $c failed"; continue; }
    for f in LICENSE-MIT LICENSE-APACHE README.md; do
        grep -qx "$f" <<<"$list" || problem "$c: $f is not in the packaged crate (include list)"
    done
done

python3 - "$meta" "${published_crates[@]}" <<'EOF' || fail=1
import json, re, sys, tomllib

meta = json.load(open(sys.argv[1]))
published = set(sys.argv[2:])
problems = []

root = tomllib.load(open("Cargo.toml", "rb"))
wp = root["workspace"]["package"]
version, msrv = wp["version"], wp["rust-version"]

def parse(v):
    return tuple(int(x) for x in re.findall(r"\d+", v)[:3]) + (0,) * (3 - len(re.findall(r"\d+", v)[:3]))

pkgs = {p["id"]: p for p in meta["packages"]}
members = [pkgs[i] for i in meta["workspace_members"]]
by_name = {p["name"]: p for p in members}

for p in members:
    manifest = tomllib.load(open(p["manifest_path"], "rb"))["package"]
    for key in ("version", "rust-version", "license", "edition", "repository"):
        if manifest.get(key) != {"workspace": True}:
            problems.append(f"{p['manifest_path']}: `{key}.workspace = true` expected")
    if p["name"] in published:
        if p["publish"] == []:
            problems.append(f"{p['name']} is published but says publish = false")
        for key in ("description", "readme", "keywords", "categories"):
            if not p.get(key):
                problems.append(f"{p['name']}: no {key}")
    # A crate may not promise an older Rust than what it depends on within the workspace.
    for dep in p["dependencies"]:
        if "path" not in dep:
            continue
        target = by_name.get(dep["name"])
        if target is None:
            continue
        if parse(p.get("rust_version") or "0") < parse(target.get("rust_version") or "0"):
            problems.append(f"{p['name']} declares rust-version {p.get('rust_version')}, "
                            f"below its path dependency {dep['name']} ({target.get('rust_version')})")
        if p["name"] in published and dep["kind"] is None and dep["req"] == "*":
            problems.append(f"{p['name']}: path dependency {dep['name']} has no version")
        if dep["req"] != "*" and dep["req"].lstrip("^=") != version:
            problems.append(f"{p['name']}: dependency {dep['name']} = \"{dep['req']}\", "
                            f"the workspace version is {version}")

# Dependencies the workspace's crates build (not dev-only) may not need a newer Rust.
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
seen, stack = set(), list(meta["workspace_members"])
while stack:
    i = stack.pop()
    if i in seen:
        continue
    seen.add(i)
    for d in nodes[i]["deps"]:
        if any(k["kind"] in (None, "build") for k in d["dep_kinds"]):
            stack.append(d["pkg"])
for i in sorted(seen):
    p = pkgs[i]
    if p.get("rust_version") and parse(p["rust_version"]) > parse(msrv):
        problems.append(f"{p['name']} {p['version']} (Cargo.lock) needs Rust {p['rust_version']}, "
                        f"above the workspace's rust-version {msrv}")

for d in ("bindings/js", "bindings/react-native"):
    pj = json.load(open(f"{d}/package.json"))
    if pj["version"] != version:
        problems.append(f"{d}/package.json: version {pj['version']}, the workspace's is {version}")
    if pj.get("license") != wp["license"]:
        problems.append(f"{d}/package.json: license {pj.get('license')!r}, not {wp['license']!r}")
    repo = (pj.get("repository") or {}).get("url", "")
    if repo.removesuffix(".git") != wp["repository"]:
        problems.append(f"{d}/package.json: repository {repo!r}, the workspace's is {wp['repository']!r}")
    lock = json.load(open(f"{d}/package-lock.json"))
    for where, v in (("version", lock.get("version")), ('packages[""].version', lock["packages"][""].get("version"))):
        if v != version:
            problems.append(f"{d}/package-lock.json: {where} {v}, the workspace's is {version} (npm install --package-lock-only)")
    files = pj.get("files", [])
    for f in ("LICENSE-MIT", "LICENSE-APACHE", "THIRD-PARTY-NOTICES.md"):
        if f not in files:
            problems.append(f"{d}/package.json: {f} not in files")

changelog = open("CHANGELOG.md").read()
released = re.findall(r"^## \[(\d+\.\d+\.\d+[^\]]*)\]", changelog, re.M)
if not released:
    problems.append("CHANGELOG.md: no `## [x.y.z]` entry")
elif released[0] != version:
    problems.append(f"CHANGELOG.md: newest entry {released[0]}, the workspace's version is {version}")

swift_readme = open("bindings/swift/README.md").read()
for v in re.findall(r'\.package\(url:[^)]*from:\s*"([^"]+)"', swift_readme):
    if v != version:
        problems.append(f"bindings/swift/README.md: .package(... from: \"{v}\"), the workspace's version is {version}")

for p in problems:
    print("check-release:", p, file=sys.stderr)
if problems:
    sys.exit(1)
print(f"check-release: version {version}, rust-version {msrv}: {len(members)} crates, 2 npm packages, "
      f"CHANGELOG and licences agree; {len(seen)} crates in the build graph within the MSRV")
EOF

if [ "$fail" -ne 0 ]; then
    echo "check-release: failed (docs/release.md says where each version and licence lives)" >&2
    exit 1
fi
