#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "crd/observed_pod.hpp"
#include "crd/pod_session.hpp"
#include "providers/error.hpp"

namespace podsession::controller {

// The controller's Prometheus metrics, every one of them declared here with the
// `podsession_` names, help texts and label values that dashboards and alerts
// rely on. Every label combination exists at zero from construction, so a
// series never appears late and `rate()` never misses its first increment.
//
// Labels take bounded values only: enums below, the phases and pod statuses of
// crd/, and GPU type ids from crd::known_gpu_ids() with `other` for any id
// outside that list. No session, user or pod name ever becomes a label.
//
// All methods may be called from any thread. `serialize()` reads each series
// atomically, but a group of gauges set by one call may be seen half updated.
class metrics {
  public:
    // `operation` label of the provider request metrics.
    enum class provider_operation { create, list, get, terminate };

    // `reason` label of `podsession_pods_terminated_total`.
    enum class terminate_reason {
        idle_timeout,
        max_lifetime,
        ready_timeout,
        pod_failed,
        deleted,
        orphan,
        duplicate,
    };

    // `result` label of `podsession_reconcile_total`: how a reconcile pass ended.
    enum class reconcile_result {
        // The plan was applied in full, or there was nothing to do.
        success,
        // The pass ran, but an action waits for a retry: a create without
        // capacity, a terminate or status write in backoff, a rate limit.
        requeue,
        // The pass could not plan: the pod list or the session source failed.
        error,
    };

    // Session counts by phase. A phase missing from the map counts as zero.
    using session_counts = std::map<crd::session_phase, std::size_t>;

    // USD per hour by RunPod GPU type id. Ids outside crd::known_gpu_ids() add
    // up under `other`; a known id missing from the map counts as zero.
    using cost_by_gpu_type = std::map<std::string, double, std::less<>>;

    using seconds = std::chrono::duration<double>;

    // Creates every series at zero and `podsession_build_info{version}` at 1.
    metrics();
    ~metrics();
    metrics(const metrics&) = delete;
    metrics& operator=(const metrics&) = delete;

    // Sets `podsession_sessions{phase}` for every phase.
    void set_sessions(const session_counts& counts);

    // Sets `podsession_pods{status,gpu_type}` to the number of `pods` in each
    // combination, and every other combination to zero. Pass this
    // controller's pods only, from a complete list.
    void set_pods(std::span<const crd::observed_pod> pods);

    // Sets `podsession_spend_usd_per_hour{gpu_type}` for every GPU type.
    void set_spend_per_hour(const cost_by_gpu_type& usd_per_hour);

    // Adds `usd` to `podsession_spend_usd_total{gpu_type}`. A negative or
    // non-finite amount is ignored, because a counter never goes down.
    void add_spend(std::string_view gpu_type, double usd);

    // Counts a pod the provider confirmed as created.
    void record_pod_created(std::string_view gpu_type);

    // Counts a pod the provider confirmed as terminated (or already gone).
    void record_pod_terminated(terminate_reason reason);

    // Counts a terminate request that failed and will be retried.
    void record_terminate_failure();

    // Counts one provider request and observes its latency. `error` is unset
    // for a success, which gets the `code` label `ok`.
    void record_provider_request(provider_operation operation, std::optional<providers::errc> error,
                                 seconds duration);

    // Counts one reconcile pass and observes how long it took.
    void record_reconcile(reconcile_result result, seconds duration);

    // Observes the time from a session's create request to its pod first
    // reported RUNNING.
    void record_time_to_ready(std::string_view gpu_type, seconds duration);

    // Sets `podsession_leader`: 1 while this process acts on pods, which is
    // while it holds the lease, or always when leader election is off.
    // Dashboards read the state gauges of the leader only.
    void set_leader(bool is_leader);

    // Returns every metric in the Prometheus text exposition format 0.0.4.
    [[nodiscard]] std::string serialize() const;

  private:
    struct families;

    std::unique_ptr<families> families_;
};

[[nodiscard]] std::string_view to_string(metrics::provider_operation value);
[[nodiscard]] std::string_view to_string(metrics::terminate_reason value);
[[nodiscard]] std::string_view to_string(metrics::reconcile_result value);

// Returns the `code` label of a provider request: `ok` when `error` is unset,
// otherwise the snake_case name of the error class (`rate_limited`).
[[nodiscard]] std::string_view provider_code_label(std::optional<providers::errc> error);

// Returns the `gpu_type` label of a RunPod GPU type id: the id itself when
// crd::known_gpu_ids() lists it, otherwise `other`.
[[nodiscard]] std::string_view gpu_type_label(std::string_view gpu_type);

}  // namespace podsession::controller
