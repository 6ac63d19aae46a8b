#pragma once

#include <functional>

#include "controller/metrics.hpp"
#include "net/server.hpp"

namespace podsession::controller {

// `/metrics` (Prometheus text format), `/healthz` (200 while the process
// serves), `/readyz` (200 once `ready` returns true, else 503).
[[nodiscard]] net::router make_endpoints(const metrics& registry, std::function<bool()> ready);

}  // namespace podsession::controller
