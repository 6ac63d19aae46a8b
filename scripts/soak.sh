#!/usr/bin/env bash
# Builds podsession and runs the long crash soak of directory mode
# (tests/soak/crash_soak.py): SIGKILL at random moments over CYCLES create,
# touch, expire and delete cycles, with the invariants checked after every
# restart. Further arguments go to the soak, for example `--seed 42`.
#
# Usage: scripts/soak.sh [CYCLES] [--seed N] [--kill-probability P] ...
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${PODSESSION_BUILD_DIR:-$repo_root/build}
cycles=200
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
    cycles=$1
    shift
fi

"$repo_root/scripts/install-deps.sh" --test
"$repo_root/scripts/build.sh"
PODSESSION_BINARY=$build_dir/podsession exec /usr/bin/python3 "$repo_root/tests/soak/crash_soak.py" \
    --cycles "$cycles" "$@"
