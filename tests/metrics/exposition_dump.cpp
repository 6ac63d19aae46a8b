// Writes the exposition of a registry with every kind of series populated to
// stdout, for `promtool check metrics`.

#include <chrono>
#include <iostream>
#include <vector>

#include "controller/metrics.hpp"
#include "controller/spend.hpp"

int main() {
    using namespace std::chrono_literals;
    using podsession::controller::metrics;
    namespace crd = podsession::crd;

    metrics registry;
    podsession::controller::spend_tracker spend{registry};

    crd::observed_pod pod;
    pod.id = "7h9k2m4n6p";
    pod.name = "psn-default-apps-user-42-1a2b3c4d";
    pod.status = crd::pod_status::running;
    pod.gpu_type = "NVIDIA H100 80GB HBM3";
    pod.gpu_count = 1;
    pod.cost_per_hour = 2.99;
    const std::vector pods{pod};
    const crd::timestamp start = std::chrono::sys_days{std::chrono::year{2026} / 12 / 4};
    spend.observe(pods, start);
    spend.observe(pods, start + 90s);

    registry.set_sessions({{crd::session_phase::running, 1}, {crd::session_phase::expired, 3}});
    registry.record_pod_created(pod.gpu_type);
    registry.record_pod_terminated(metrics::terminate_reason::idle_timeout);
    registry.record_pod_terminated(metrics::terminate_reason::orphan);
    registry.record_terminate_failure();
    registry.record_provider_request(metrics::provider_operation::list, std::nullopt, 85ms);
    registry.record_provider_request(metrics::provider_operation::create,
                                     podsession::providers::errc::capacity, 400ms);
    registry.record_reconcile(metrics::reconcile_result::success, 900us);
    registry.record_time_to_ready(pod.gpu_type, 3min);
    registry.set_leader(true);

    std::cout << registry.serialize();
    return std::cout.good() ? 0 : 1;
}
