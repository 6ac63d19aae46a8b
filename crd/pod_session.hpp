#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crd/time.hpp"

namespace podsession::crd {

inline constexpr std::string_view api_group = "podsession.io";
inline constexpr std::string_view api_version = "podsession.io/v1alpha1";
inline constexpr std::string_view kind = "PodSession";
inline constexpr std::string_view touch_annotation = "podsession.io/last-touched";
inline constexpr std::string_view cleanup_finalizer = "podsession.io/pod-cleanup";

enum class cloud_type { secure, community };
enum class port_protocol { http, tcp };
enum class auth_mode { bearer, signed_url, none };

// The lifecycle phase in `status.phase`. Expired and Failed are terminal: a
// session never leaves them, whatever later touches say.
enum class session_phase { pending, provisioning, running, expired, failed, terminating };

// Why a session reached a terminal phase or is terminating (`status.reason`).
enum class session_reason {
    none,
    idle_timeout,
    max_lifetime,
    ready_timeout,
    pod_failed,
    provider_rejected,
    deleted
};

struct port_spec {
    std::uint16_t port = 0;
    port_protocol protocol = port_protocol::http;
};

struct env_var {
    std::string name;
    std::string value;
};

struct gpu_spec {
    // RunPod GPU type ids in order of preference, aliases already resolved.
    std::vector<std::string> types;
    int count = 1;
};

struct pod_session_spec {
    std::string user_id;
    std::string image;
    gpu_spec gpu;
    cloud_type cloud = cloud_type::secure;
    std::vector<std::string> data_center_ids;
    std::vector<port_spec> ports;
    std::vector<env_var> env;
    auth_mode auth = auth_mode::bearer;
    // Unset means the controller's `--default-idle-ttl`.
    std::optional<std::chrono::seconds> idle_ttl;
    std::chrono::seconds ready_timeout{1200};
    std::optional<std::chrono::seconds> max_lifetime;
    int container_disk_gb = 50;
    // 0 means no volume.
    int volume_gb = 0;
    // `major.minor`, empty when any CUDA version is acceptable.
    std::string min_cuda_version;
};

struct object_meta {
    std::string name;
    std::string namespace_name = "default";
    std::string uid;
    std::string resource_version;
    std::int64_t generation = 0;
    std::map<std::string, std::string> labels;
    std::map<std::string, std::string> annotations;
    std::vector<std::string> finalizers;
    std::optional<timestamp> creation_timestamp;
    std::optional<timestamp> deletion_timestamp;
};

struct endpoint {
    std::uint16_t port = 0;
    port_protocol protocol = port_protocol::http;
    std::string url;

    bool operator==(const endpoint&) const = default;
};

struct condition {
    std::string type;
    // "True", "False" or "Unknown", as Kubernetes conditions spell them.
    std::string status;
    std::string reason;
    std::string message;
    std::optional<timestamp> last_transition_time;

    bool operator==(const condition&) const = default;
};

struct pod_session_status {
    session_phase phase = session_phase::pending;
    session_reason reason = session_reason::none;
    std::string pod_id;
    std::string pod_name;
    std::string gpu_type;
    // USD per hour as the provider reported it; unset before a pod exists.
    std::optional<double> cost_per_hour;
    std::vector<endpoint> endpoints;
    std::string token_secret_name;
    std::string token_file;
    std::optional<timestamp> created_at;
    std::optional<timestamp> ready_at;
    std::optional<timestamp> last_touched;
    std::optional<timestamp> expires_at;
    std::optional<timestamp> terminated_at;
    // When the controller last sent a create for this session. Written before
    // the request, so after a crash or an unknown outcome the next plan waits
    // for the provider's listing to catch up instead of creating blindly.
    std::optional<timestamp> create_requested_at;
    std::int64_t observed_generation = 0;
    std::vector<condition> conditions;

    [[nodiscard]] const condition* find_condition(std::string_view type) const;

    bool operator==(const pod_session_status&) const = default;
};

struct pod_session {
    object_meta metadata;
    pod_session_spec spec;
    pod_session_status status;
};

// `namespace/name`, the key a session is known by in logs and maps.
[[nodiscard]] std::string session_key(const object_meta& metadata);

[[nodiscard]] std::string_view to_string(cloud_type value);
[[nodiscard]] std::string_view to_string(port_protocol value);
[[nodiscard]] std::string_view to_string(auth_mode value);
[[nodiscard]] std::string_view to_string(session_phase value);
[[nodiscard]] std::string_view to_string(session_reason value);

[[nodiscard]] std::optional<session_phase> parse_session_phase(std::string_view text);
[[nodiscard]] std::optional<session_reason> parse_session_reason(std::string_view text);

[[nodiscard]] inline bool is_terminal(session_phase phase) {
    return phase == session_phase::expired || phase == session_phase::failed;
}

}  // namespace podsession::crd
