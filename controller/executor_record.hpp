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
    std::optional<crd::timestamp> wake_at;
    bool queued = false;
    bool busy = false;
    bool dirty = false;
    // Set when the session left the table while a worker held it.
    bool removed = false;
};

}  // namespace podsession::controller
