#!/usr/bin/env bash
# Builds podsession and runs a long soak of directory mode.
#
# Without --fault-soak: the crash soak (tests/soak/crash_soak.py), SIGKILL at
# random moments over CYCLES create, touch, expire and delete cycles, with the
# invariants checked after every restart.
#
# With --fault-soak: the fault soak (tests/soak/fault_soak.py), 500 sessions
# created, touched, left to expire, deleted and added while the simulator
# replies with 429, 5xx or nothing (a lost response) to every operation for
# 240 s, then the invariants checked once converged.
#
# Further arguments go to the soak, for example `--seed 42`.
#
# Usage: scripts/soak.sh [CYCLES] [--seed N] [--kill-probability P] ...
#        scripts/soak.sh --fault-soak [--seed N] [--sessions N] [--fault-seconds S] ...
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${PODSESSION_BUILD_DIR:-$repo_root/build}

soak=crash
if [[ $# -gt 0 && $1 == --fault-soak ]]; then
    soak=fault
    shift
fi
cycles=200
if [[ $soak == crash && $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
    cycles=$1
    shift
fi

"$repo_root/scripts/install-deps.sh" --test
"$repo_root/scripts/build.sh"
if [[ $soak == fault ]]; then
    PODSESSION_BINARY=$build_dir/podsession exec /usr/bin/python3 \
        "$repo_root/tests/soak/fault_soak.py" --sessions 500 --fault-seconds 240 "$@"
fi
PODSESSION_BINARY=$build_dir/podsession exec /usr/bin/python3 "$repo_root/tests/soak/crash_soak.py" \
    --cycles "$cycles" "$@"
