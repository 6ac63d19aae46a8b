#include "controller/instrumentation.hpp"

#include <spdlog/spdlog.h>

#include "controller/log.hpp"
#include "reconcile/pod_name.hpp"

namespace podsession::controller {
namespace {

namespace asio = boost::asio;

metrics::terminate_reason metric_reason(reconcile::termination_reason reason) {
    switch (reason) {
        case reconcile::termination_reason::idle_timeout:
            return metrics::terminate_reason::idle_timeout;
        case reconcile::termination_reason::max_lifetime:
            return metrics::terminate_reason::max_lifetime;
        case reconcile::termination_reason::ready_timeout:
            return metrics::terminate_reason::ready_timeout;
        case reconcile::termination_reason::pod_failed:
            return metrics::terminate_reason::pod_failed;
        case reconcile::termination_reason::deleted:
            return metrics::terminate_reason::deleted;
        case reconcile::termination_reason::orphan:
            return metrics::terminate_reason::orphan;
        case reconcile::termination_reason::duplicate:
            return metrics::terminate_reason::duplicate;
    }
    return metrics::terminate_reason::orphan;
}

}  // namespace

metrics_observer::metrics_observer(metrics& registry, std::string controller_id)
    : registry_{registry}, spend_{registry}, prefix_{reconcile::pod_name_prefix(controller_id)} {}

void metrics_observer::pod_created(const std::string& gpu_type) {
    registry_.record_pod_created(gpu_type);
}

void metrics_observer::pod_terminated(reconcile::termination_reason reason) {
    registry_.record_pod_terminated(metric_reason(reason));
}

void metrics_observer::terminate_failed() {
    registry_.record_terminate_failure();
}

void metrics_observer::pod_ready(const std::string& gpu_type,
                                 std::chrono::milliseconds time_to_ready) {
    registry_.record_time_to_ready(gpu_type, time_to_ready);
}

void metrics_observer::reconciled(std::string_view result, std::chrono::nanoseconds duration) {
    registry_.record_reconcile(
        result == "success" ? metrics::reconcile_result::success : metrics::reconcile_result::error,
        duration);
}

void metrics_observer::pods_listed(const std::vector<crd::observed_pod>& pods, crd::timestamp now) {
    std::vector<crd::observed_pod> ours;
    for (const auto& pod : pods) {
        if (pod.name.starts_with(prefix_)) {
            ours.push_back(pod);
        }
    }
    const auto report = spend_.observe(ours, now);
    if (report.gap) {
        spdlog::warn(
            "pod lists were far apart; spend for the gap assumes unchanged costs gap_ms={}",
            report.gap->count());
    }
    if (report.clock_moved_back) {
        spdlog::warn("wall clock moved back; spend resumes from now");
    }
    for (const auto& id : report.invalid_cost_pod_ids) {
        spdlog::warn("pod reported an invalid cost; counted as 0 pod={}", id);
    }
}

void metrics_observer::sessions_counted(const std::map<crd::session_phase, int>& counts) {
    metrics::session_counts converted;
    for (const auto& [phase, count] : counts) {
        converted[phase] = static_cast<std::size_t>(count);
    }
    registry_.set_sessions(converted);
}

template <class T>
void instrumented_provider::record(metrics::provider_operation operation,
                                   const providers::result<T>& outcome,
                                   std::chrono::steady_clock::time_point started) {
    std::optional<providers::errc> error;
    if (!outcome && outcome.error().code.category() == providers::provider_category()) {
        error = static_cast<providers::errc>(outcome.error().code.value());
    } else if (!outcome) {
        error = providers::errc::transient;
    }
    registry_.record_provider_request(operation, error, std::chrono::steady_clock::now() - started);
}

asio::awaitable<providers::result<crd::observed_pod>> instrumented_provider::create_pod(
    const providers::create_pod_request& request) {
    const auto started = std::chrono::steady_clock::now();
    auto outcome = co_await inner_.create_pod(request);
    record(metrics::provider_operation::create, outcome, started);
    co_return outcome;
}

asio::awaitable<providers::result<std::vector<crd::observed_pod>>>
instrumented_provider::list_pods() {
    const auto started = std::chrono::steady_clock::now();
    auto outcome = co_await inner_.list_pods();
    record(metrics::provider_operation::list, outcome, started);
    co_return outcome;
}

asio::awaitable<providers::result<crd::observed_pod>> instrumented_provider::get_pod(
    std::string_view pod_id) {
    const auto started = std::chrono::steady_clock::now();
    auto outcome = co_await inner_.get_pod(pod_id);
    record(metrics::provider_operation::get, outcome, started);
    co_return outcome;
}

asio::awaitable<providers::result<void>> instrumented_provider::terminate_pod(
    std::string_view pod_id) {
    const auto started = std::chrono::steady_clock::now();
    auto outcome = co_await inner_.terminate_pod(pod_id);
    record(metrics::provider_operation::terminate, outcome, started);
    co_return outcome;
}

}  // namespace podsession::controller
