#pragma once

#include <string>
#include <string_view>

namespace podsession::crd {

// A DNS-1123 label: 1..63 of [a-z0-9-], starting and ending alphanumeric. Kubernetes
// namespaces follow it.
[[nodiscard]] bool is_dns1123_label(std::string_view text);

// A DNS-1123 subdomain: 1..253 characters, dot-separated labels of [a-z0-9-].
// Kubernetes object names follow it.
[[nodiscard]] bool is_dns1123_subdomain(std::string_view text);

// An environment variable name: a letter or `_`, then letters, digits or `_`.
[[nodiscard]] bool is_env_var_name(std::string_view text);

// Whether an env name is reserved for what the controller injects (`ATLAS_*`,
// `PODSESSION_*`), so that a spec cannot override the pod's token.
[[nodiscard]] bool is_reserved_env_name(std::string_view text);

// A CUDA version as `major.minor`.
[[nodiscard]] bool is_cuda_version(std::string_view text);

// A RunPod data centre id such as `US-TX-3`: 1..32 of [A-Za-z0-9-].
[[nodiscard]] bool is_data_center_id(std::string_view text);

// A session UID that a pod name can carry: only [0-9a-f-], with at least eight
// hex digits. Kubernetes UIDs (UUIDs) qualify.
[[nodiscard]] bool is_session_uid(std::string_view text);

// A controller id: 1..16 of [a-z0-9]. Having no dash means no id's pod-name
// prefix `psn-<id>-` can be a prefix of another id's.
[[nodiscard]] bool is_controller_id(std::string_view text);

// Escapes control characters (ESC, NUL, newlines) as \xNN, so that text from a
// file or an annotation cannot move the cursor or forge lines where it is shown.
[[nodiscard]] std::string escape_controls(std::string_view text);

}  // namespace podsession::crd
