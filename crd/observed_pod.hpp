#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crd/time.hpp"

namespace podsession::crd {

// A pod's lifecycle status as RunPod reports it. `unknown` stands for a value
// this client does not know yet (the v2 API is beta and may add some); such a
// pod is kept but neither adopted as ready nor reaped on that basis alone.
enum class pod_status { provisioning, starting, running, exited, error, terminated, unknown };

struct runtime_port {
    std::uint16_t private_port = 0;
    std::optional<std::uint16_t> public_port;
    std::string ip;
    // "http" or "tcp".
    std::string type;

    bool operator==(const runtime_port&) const = default;
};

// A pod as a provider reports it, in the provider-neutral terms the planner
// reads. It never carries the pod's env values: only the session UID that the
// controller injected, where the provider returns env at all.
struct observed_pod {
    std::string id;
    std::string name;
    pod_status status = pod_status::unknown;
    std::string gpu_type;
    int gpu_count = 0;
    // USD per hour, 0 when the pod is EXITED or TERMINATED.
    double cost_per_hour = 0;
    std::optional<timestamp> created_at;
    std::optional<timestamp> started_at;
    // `PODSESSION_UID` from the pod's env; unset when the provider lists no env
    // or the variable is missing.
    std::optional<std::string> session_uid;
    // Public mappings from `runtime.ports`, empty unless RUNNING.
    std::vector<runtime_port> ports;

    bool operator==(const observed_pod&) const = default;
};

[[nodiscard]] std::string_view to_string(pod_status value);
[[nodiscard]] pod_status parse_pod_status(std::string_view text);

}  // namespace podsession::crd
