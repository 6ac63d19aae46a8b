#!/usr/bin/env bash
# Installs the build dependencies, builds podsession and runs the controller on
# the example sessions against the in-process RunPod simulator. Stop it with
# Ctrl-C. The simulator keeps its pods in
# manifests/examples/.status/simulated-runpod.json, so the next run adopts them
# as it would adopt real RunPod pods. Delete manifests/examples/.status to start
# over with new pods and tokens.
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
"$repo_root/scripts/install-deps.sh"
"$repo_root/scripts/build.sh"

# On a laptop the metrics and health endpoints stay on loopback unless the
# caller passes its own --listen.
listen=(--listen 127.0.0.1:8080)
for argument in "$@"; do
    [[ $argument == --listen || $argument == --listen=* ]] && listen=()
done
exec "${PODSESSION_BUILD_DIR:-$repo_root/build}/podsession" run \
    --sessions-dir "$repo_root/manifests/examples" --provider simulated --poll-interval 1s \
    "${listen[@]}" "$@"
