#include "crd/gpu_types.hpp"

#include <algorithm>
#include <array>

namespace podsession::crd {
namespace {

constexpr std::array<gpu_alias, 15> aliases{{
    {"h200", "NVIDIA H200"},
    {"h100", "NVIDIA H100 80GB HBM3"},
    {"h100-pcie", "NVIDIA H100 PCIe"},
    {"a100-80g", "NVIDIA A100 80GB PCIe"},
    {"a100-40g", "NVIDIA A100-SXM4-40GB"},
    {"l40s", "NVIDIA L40S"},
    {"l40", "NVIDIA L40"},
    {"l4", "NVIDIA L4"},
    {"a6000", "NVIDIA RTX A6000"},
    {"a5000", "NVIDIA RTX A5000"},
    {"a4000", "NVIDIA RTX A4000"},
    {"rtx-6000-ada", "NVIDIA RTX 6000 Ada Generation"},
    {"rtx-4090", "NVIDIA GeForce RTX 4090"},
    {"rtx-3090", "NVIDIA GeForce RTX 3090"},
    {"mi300x", "AMD Instinct MI300X OAM"},
}};

// GPU type ids of RunPod's pod catalog. Ids are exact strings: case and spaces
// matter to the API.
constexpr std::array<std::string_view, 36> ids{
    "NVIDIA H200",
    "NVIDIA H200 NVL",
    "NVIDIA H100 80GB HBM3",
    "NVIDIA H100 PCIe",
    "NVIDIA H100 NVL",
    "NVIDIA B200",
    "NVIDIA A100 80GB PCIe",
    "NVIDIA A100-SXM4-80GB",
    "NVIDIA A100-SXM4-40GB",
    "NVIDIA A40",
    "NVIDIA A30",
    "NVIDIA L40S",
    "NVIDIA L40",
    "NVIDIA L4",
    "NVIDIA RTX A6000",
    "NVIDIA RTX A5000",
    "NVIDIA RTX A4500",
    "NVIDIA RTX A4000",
    "NVIDIA RTX A2000",
    "NVIDIA RTX 6000 Ada Generation",
    "NVIDIA RTX 5000 Ada Generation",
    "NVIDIA RTX 4000 Ada Generation",
    "NVIDIA RTX 2000 Ada Generation",
    "NVIDIA RTX PRO 6000 Blackwell Server Edition",
    "NVIDIA GeForce RTX 5090",
    "NVIDIA GeForce RTX 5080",
    "NVIDIA GeForce RTX 4090",
    "NVIDIA GeForce RTX 4080",
    "NVIDIA GeForce RTX 4080 SUPER",
    "NVIDIA GeForce RTX 4070 Ti",
    "NVIDIA GeForce RTX 3090",
    "NVIDIA GeForce RTX 3090 Ti",
    "NVIDIA GeForce RTX 3080 Ti",
    "NVIDIA GeForce RTX 3070",
    "Tesla V100-SXM2-32GB",
    "AMD Instinct MI300X OAM",
};

}  // namespace

std::span<const gpu_alias> gpu_aliases() {
    return aliases;
}

std::span<const std::string_view> known_gpu_ids() {
    return ids;
}

std::optional<std::string> resolve_gpu_type(std::string_view text) {
    const auto alias = std::ranges::find(aliases, text, &gpu_alias::alias);
    if (alias != aliases.end()) {
        return std::string{alias->runpod_id};
    }
    if (std::ranges::find(ids, text) != ids.end()) {
        return std::string{text};
    }
    return std::nullopt;
}

}  // namespace podsession::crd
