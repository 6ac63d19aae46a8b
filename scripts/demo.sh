#!/usr/bin/env bash
# Installs the build dependencies, builds podsession and runs the controller on
# the example sessions against the in-process RunPod simulator. Stop it with
# Ctrl-C; the simulated pods go away with the process.
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
"$repo_root/scripts/install-deps.sh"
"$repo_root/scripts/build.sh"
exec "${PODSESSION_BUILD_DIR:-$repo_root/build}/podsession" run \
    --sessions-dir "$repo_root/manifests/examples" --provider simulated --poll-interval 1s "$@"
