#!/usr/bin/env bash
# Installs everything the tests need, builds podsession with its tests and runs
# the whole suite with CTest. Extra arguments go to ctest (for example
# `-R crd` or `-L unit`).
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${PODSESSION_BUILD_DIR:-$repo_root/build}

"$repo_root/scripts/install-deps.sh" --test
"$repo_root/scripts/build.sh"
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" --timeout 900 "$@"
