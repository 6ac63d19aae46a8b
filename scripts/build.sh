#!/usr/bin/env bash
# Configures and builds podsession-controller in build/ (or $PODSESSION_BUILD_DIR).
# Extra arguments go to the CMake configure step.
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${PODSESSION_BUILD_DIR:-$repo_root/build}

# ccache keys on the absolute source path unless told otherwise; these two let
# clones in different folders share one cache.
export CCACHE_BASEDIR=$repo_root
export CCACHE_NOHASHDIR=true

cmake -S "$repo_root" -B "$build_dir" -G Ninja -DPODSESSION_WERROR=ON "$@" >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
