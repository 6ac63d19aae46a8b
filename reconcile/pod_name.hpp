#pragma once

#include <string>
#include <string_view>

namespace podsession::reconcile {

// RunPod's limit on pod names.
inline constexpr std::size_t max_pod_name_length = 191;

// `psn-<controllerId>-`: every pod of this controller, and only those, starts
// with it, because controller ids hold no dash.
[[nodiscard]] std::string pod_name_prefix(std::string_view controller_id);

// `psn-<controllerId>-<namespace>-<name>-<first 8 hex of uid>`, lowercased, with
// the middle of `<namespace>-<name>` cut so the whole fits 191 characters. The
// UID part is never cut, so sessions that differ in UID get different names.
[[nodiscard]] std::string make_pod_name(std::string_view controller_id,
                                        std::string_view namespace_name, std::string_view name,
                                        std::string_view uid);

}  // namespace podsession::reconcile
