#pragma once

#include <optional>
#include <string>
#include <vector>

#include "controller/executor.hpp"

namespace podsession::controller {

// What the executor keeps per session.
struct executor::record {
    std::string key;
    // Metadata as last declared, the last valid spec, and the persisted status.
    crd::pod_session session;
    bool has_valid_spec = false;
    std::vector<std::string> errors;
    bool deleting = false;
    bool status_loaded = false;
    reconcile::session_memory memory;
    std::string pod_name;
    // The inputs of the last plan besides the session itself. A list plans the
    // session again only if they changed, or if `settled` is false.
    std::vector<crd::observed_pod> planned_pods;
    reconcile::provider_state planned_provider;
    // The last plan left status and memory as they were and planned no action,
    // so planning again with the same inputs would do the same.
    bool settled = false;
    std::optional<crd::timestamp> wake_at;
    bool queued = false;
    bool busy = false;
    bool dirty = false;
    // Set when the session left the table while a worker held it.
    bool removed = false;
};

}  // namespace podsession::controller
