#!/usr/bin/env bash
# Installs the build dependencies, builds podsession and runs the controller on
# the example sessions against the in-process RunPod simulator. Stop it with
# Ctrl-C; the simulated pods go away with the process.
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
"$repo_root/scripts/install-deps.sh"
"$repo_root/scripts/build.sh"

# The simulated pods of an earlier demo ended with its process, so its status
# and token files would name pods that no longer exist.
rm -rf "$repo_root/manifests/examples/.status"
exec "${PODSESSION_BUILD_DIR:-$repo_root/build}/podsession" run \
    --sessions-dir "$repo_root/manifests/examples" --provider simulated --poll-interval 1s "$@"
