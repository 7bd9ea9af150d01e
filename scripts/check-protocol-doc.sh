#!/usr/bin/env bash
# docs/protocol.md must carry the shared protocol contract unchanged (its line 5 aside, which
# says where the copy lives), followed by Roomcast's own notes. Run from the repository root;
# skipped when the shared contract is not beside the checkout.
set -euo pipefail
shared=../shared/protocol.md
if [ ! -f "$shared" ]; then
    echo "shared protocol contract not found at $shared: skipped"
    exit 0
fi
n=$(wc -l < "$shared")
if diff <(sed '5d' "$shared") <(head -n "$n" docs/protocol.md | sed '5d'); then
    echo "docs/protocol.md carries the shared contract unchanged"
else
    echo "docs/protocol.md has drifted from $shared (diff above)" >&2
    exit 1
fi
