#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace podsession::crd {

struct gpu_alias {
    std::string_view alias;
    std::string_view runpod_id;
};

// The lowercase aliases a PodSession may use in `spec.gpu.types`.
[[nodiscard]] std::span<const gpu_alias> gpu_aliases();

// RunPod GPU type ids that `spec.gpu.types` accepts verbatim: the targets of
// every alias plus the other types RunPod's catalog lists for pods.
[[nodiscard]] std::span<const std::string_view> known_gpu_ids();

// Resolves an alias or a known RunPod id (exact, case-sensitive) to the RunPod
// id. Returns nothing for anything else.
[[nodiscard]] std::optional<std::string> resolve_gpu_type(std::string_view text);

}  // namespace podsession::crd
