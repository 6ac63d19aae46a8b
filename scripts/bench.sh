#!/usr/bin/env bash
# Builds the Release benchmarks in build-bench/ and runs them: the planner
# (Google Benchmark), 10,000 sessions in directory mode, and touch
# throughput. Results go to RESULTS_DIR (default build-bench/results) as
# text and JSON; docs/benchmarks.md explains each number.
#
# The simulator's default rate limit (600 requests a minute) throttles
# 10,000 creates, so simulate-runpod gets SIMULATOR_ARGS, by default
# "--rate-limit=minute=1000000/60": one window that replaces the default
# ones and that the benchmarks never exhaust. SIMULATOR_ARGS="" runs the
# default limits. SIMULATOR_BINARY may name another podsession binary to
# serve the simulator.
#
# Usage: scripts/bench.sh [planner|directory|touch]...   (default: all three)
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$repo_root/build-bench
results=${RESULTS_DIR:-$build_dir/results}
parts=("$@")
((${#parts[@]} > 0)) || parts=(planner directory touch)

"$repo_root/scripts/install-deps.sh"
export CCACHE_BASEDIR=$repo_root CCACHE_NOHASHDIR=true
cmake -S "$repo_root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DPODSESSION_BUILD_TESTS=OFF -DPODSESSION_BUILD_BENCH=ON >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
mkdir -p "$results"

simulator_options=(--simulator-binary "${SIMULATOR_BINARY:-$build_dir/podsession}")
for argument in ${SIMULATOR_ARGS---rate-limit=minute=1000000/60}; do
    simulator_options+=("--simulator-arg=$argument")
done

for part in "${parts[@]}"; do
    echo "bench: $part (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    case $part in
        planner)
            "$build_dir/bench/planner_bench" --benchmark_repetitions=3 | tee "$results/planner.txt"
            ;;
        directory)
            /usr/bin/python3 "$repo_root/bench/directory_bench.py" --podsession "$build_dir/podsession" \
                "${simulator_options[@]}" --sessions 10000 --output "$results/directory.json"
            ;;
        touch)
            /usr/bin/python3 "$repo_root/bench/touch_bench.py" --podsession "$build_dir/podsession" \
                "${simulator_options[@]}" --sessions 1000 --rates 250,500,1000 \
                --output "$results/touch.json"
            ;;
        *)
            echo "bench: unknown part $part (planner, directory or touch)" >&2
            exit 2
            ;;
    esac
done
