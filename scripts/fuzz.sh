#!/usr/bin/env bash
# Builds the libFuzzer targets with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs each for a number of inputs (default one
# million), starting from the checked-in corpus. A crash stops that target; its
# input is copied into tests/fuzz/corpus/<target>/ so that, once committed, it
# runs as a regression test in every build. Prints a summary and exits 1 if any
# target crashed.
#
# Usage: scripts/fuzz.sh [RUNS] [TARGET...]
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-1000000}
shift || true
targets=("$@")
((${#targets[@]} > 0)) || targets=(crd_yaml crd_api_object kube_watch_event runpod_json signed_url touch_file)

"$repo_root/scripts/install-deps.sh"
if ! command -v clang++ >/dev/null || ! dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q "ok installed"; then
    sudo_cmd=()
    [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev
fi

build_dir=$repo_root/build-fuzz
export CCACHE_BASEDIR=$repo_root CCACHE_NOHASHDIR=true
cmake -S "$repo_root" -B "$build_dir" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPODSESSION_FUZZ=ON -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all" \
    >/dev/null
cmake --build "$build_dir" -j "$(nproc)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
summary=()
for target in "${targets[@]}"; do
    mkdir -p "$work/$target/corpus" "$work/$target/artifacts"
    log=$work/$target/log
    echo "fuzz: $target, $runs inputs"
    status=0
    "$build_dir/tests/fuzz/fuzz_$target" -runs="$runs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/$target/artifacts/" \
        "$work/$target/corpus" "$repo_root/tests/fuzz/corpus/$target" >"$log" 2>&1 || status=$?
    executed=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo "?")
    per_second=$(grep -Eo 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo "?")
    crashes=$(find "$work/$target/artifacts" -type f | wc -l)
    if ((status != 0 || crashes > 0)); then
        failed=1
        for artifact in "$work/$target/artifacts"/*; do
            [[ -f "$artifact" ]] || continue
            cp "$artifact" "$repo_root/tests/fuzz/corpus/$target/"
            echo "fuzz: $target crashed; input saved as tests/fuzz/corpus/$target/$(basename "$artifact")"
        done
        tail -n 40 "$log"
    fi
    summary+=("$(printf '%-16s %12s inputs %10s/s %3s crashes' "$target" "$executed" "$per_second" "$crashes")")
done

echo
echo "fuzz summary (runs requested per target: $runs)"
printf '%s\n' "${summary[@]}"
exit "$failed"
