#include "controller/metrics.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <utility>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "crd/gpu_types.hpp"

namespace podsession::controller {
namespace {

constexpr std::string_view other_gpu_type = "other";

constexpr std::array all_phases{
    crd::session_phase::pending, crd::session_phase::provisioning, crd::session_phase::running,
    crd::session_phase::expired, crd::session_phase::failed,       crd::session_phase::terminating,
};

constexpr std::array all_pod_statuses{
    crd::pod_status::provisioning, crd::pod_status::starting, crd::pod_status::running,
    crd::pod_status::exited,       crd::pod_status::error,    crd::pod_status::terminated,
    crd::pod_status::unknown,
};

// Position of `unknown`, which also counts any status outside the enum.
constexpr std::size_t unknown_status_index = all_pod_statuses.size() - 1;
static_assert(all_pod_statuses[unknown_status_index] == crd::pod_status::unknown);

constexpr std::array all_operations{
    metrics::provider_operation::create,
    metrics::provider_operation::list,
    metrics::provider_operation::get,
    metrics::provider_operation::terminate,
};

constexpr std::array all_terminate_reasons{
    metrics::terminate_reason::idle_timeout,  metrics::terminate_reason::max_lifetime,
    metrics::terminate_reason::ready_timeout, metrics::terminate_reason::pod_failed,
    metrics::terminate_reason::deleted,       metrics::terminate_reason::orphan,
    metrics::terminate_reason::duplicate,
};

constexpr std::array all_reconcile_results{
    metrics::reconcile_result::success,
    metrics::reconcile_result::requeue,
    metrics::reconcile_result::error,
};

// Every `code` label: unset stands for `ok`, then each providers::errc.
constexpr std::array<std::optional<providers::errc>, 11> all_codes{
    std::nullopt,
    providers::errc::unauthorized,
    providers::errc::forbidden,
    providers::errc::payment_required,
    providers::errc::not_found,
    providers::errc::conflict,
    providers::errc::invalid_request,
    providers::errc::capacity,
    providers::errc::rate_limited,
    providers::errc::transient,
    providers::errc::unknown_outcome,
};

// Bucket upper bounds in seconds, from a call to a loopback simulator to one
// that stalls for a minute.
const prometheus::Histogram::BucketBoundaries provider_latency_buckets{
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60,
};

// From a pass with nothing to do to one over tens of thousands of sessions
// with its provider calls.
const prometheus::Histogram::BucketBoundaries reconcile_buckets{
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

// A pod with a cached image is RUNNING within seconds, but pulling a large
// image can take many minutes. Anything past an hour counts in +Inf only.
const prometheus::Histogram::BucketBoundaries time_to_ready_buckets{
    5, 10, 20, 30, 45, 60, 90, 120, 180, 240, 300, 450, 600, 900, 1200, 1800, 2700, 3600,
};

// Returns the position of `value` in `table`, or nothing for a value outside
// the enum (a cast from a bad integer), which then updates no series.
template <class Value, std::size_t N>
std::optional<std::size_t> index_of(const std::array<Value, N>& table, Value value) {
    const auto found = std::ranges::find(table, value);
    if (found == table.end()) {
        return std::nullopt;
    }
    return static_cast<std::size_t>(found - table.begin());
}

// The `gpu_type` label values: every known RunPod id, then `other`.
std::vector<std::string_view> make_gpu_labels() {
    const auto known = crd::known_gpu_ids();
    std::vector<std::string_view> labels(known.begin(), known.end());
    labels.push_back(other_gpu_type);
    return labels;
}

}  // namespace

// The registry and a pointer to every series, indexed by label position, so a
// record call never builds a label map or takes the family's lock.
struct metrics::families {
    prometheus::Registry registry;
    std::vector<std::string_view> gpu_labels = make_gpu_labels();
    // Known RunPod ids to their position in gpu_labels; `other` is the last.
    std::map<std::string_view, std::size_t, std::less<>> gpu_positions;

    std::array<prometheus::Gauge*, all_phases.size()> sessions{};
    // [status][gpu label]
    std::array<std::vector<prometheus::Gauge*>, all_pod_statuses.size()> pods;
    std::vector<prometheus::Gauge*> spend_per_hour;
    std::vector<prometheus::Counter*> spend_total;
    std::vector<prometheus::Counter*> pods_created;
    std::array<prometheus::Counter*, all_terminate_reasons.size()> pods_terminated{};
    prometheus::Counter* terminate_failures = nullptr;
    // [operation][code]
    std::array<std::array<prometheus::Counter*, all_codes.size()>, all_operations.size()>
        provider_requests{};
    std::array<prometheus::Histogram*, all_operations.size()> provider_request_duration{};
    std::array<prometheus::Counter*, all_reconcile_results.size()> reconcile_total{};
    prometheus::Histogram* reconcile_duration = nullptr;
    std::vector<prometheus::Histogram*> time_to_ready;
    prometheus::Gauge* leader = nullptr;

    families();

    // Returns the position of the `gpu_type` label of a RunPod id in gpu_labels.
    [[nodiscard]] std::size_t gpu_index(std::string_view gpu_type) const {
        const auto found = gpu_positions.find(gpu_type);
        return found == gpu_positions.end() ? gpu_labels.size() - 1 : found->second;
    }

  private:
    void add_state_gauges();
    void add_pod_counters();
    void add_provider_metrics();
    void add_process_metrics();
};

metrics::families::families() {
    for (std::size_t g = 0; g + 1 < gpu_labels.size(); ++g) {
        gpu_positions.emplace(gpu_labels[g], g);
    }

    add_state_gauges();
    add_pod_counters();
    add_provider_metrics();
    add_process_metrics();
}

void metrics::families::add_state_gauges() {
    auto& sessions_family = prometheus::BuildGauge()
                                .Name("podsession_sessions")
                                .Help("PodSessions known to the controller, by status phase.")
                                .Register(registry);
    for (std::size_t i = 0; i < all_phases.size(); ++i) {
        sessions[i] = &sessions_family.Add({{"phase", std::string{to_string(all_phases[i])}}});
    }

    auto& pods_family = prometheus::BuildGauge()
                            .Name("podsession_pods")
                            .Help(
                                "Pods of this controller in the last provider list, by RunPod "
                                "status and GPU type.")
                            .Register(registry);
    for (std::size_t s = 0; s < all_pod_statuses.size(); ++s) {
        for (const auto gpu : gpu_labels) {
            pods[s].push_back(
                &pods_family.Add({{"status", std::string{to_string(all_pod_statuses[s])}},
                                  {"gpu_type", std::string{gpu}}}));
        }
    }

    auto& per_hour_family =
        prometheus::BuildGauge()
            .Name("podsession_spend_usd_per_hour")
            .Help(
                "Sum of the hourly cost in USD of this controller's pods in the last provider "
                "list, by GPU type.")
            .Register(registry);
    for (const auto gpu : gpu_labels) {
        spend_per_hour.push_back(&per_hour_family.Add({{"gpu_type", std::string{gpu}}}));
    }

    auto& total_family =
        prometheus::BuildCounter()
            .Name("podsession_spend_usd_total")
            .Help(
                "USD spent on this controller's pods, integrated from the hourly cost of each "
                "pod between provider lists, by GPU type.")
            .Register(registry);
    for (const auto gpu : gpu_labels) {
        spend_total.push_back(&total_family.Add({{"gpu_type", std::string{gpu}}}));
    }
}

void metrics::families::add_pod_counters() {
    auto& created_family = prometheus::BuildCounter()
                               .Name("podsession_pods_created_total")
                               .Help("Pods the provider confirmed as created, by GPU type.")
                               .Register(registry);
    for (const auto gpu : gpu_labels) {
        pods_created.push_back(&created_family.Add({{"gpu_type", std::string{gpu}}}));
    }

    auto& terminated_family =
        prometheus::BuildCounter()
            .Name("podsession_pods_terminated_total")
            .Help(
                "Pods the provider confirmed as terminated, by the reason the controller "
                "terminated them.")
            .Register(registry);
    for (std::size_t i = 0; i < all_terminate_reasons.size(); ++i) {
        pods_terminated[i] =
            &terminated_family.Add({{"reason", std::string{to_string(all_terminate_reasons[i])}}});
    }

    terminate_failures = &prometheus::BuildCounter()
                              .Name("podsession_terminate_failures_total")
                              .Help("Terminate requests that failed and are retried with backoff.")
                              .Register(registry)
                              .Add({});
}

void metrics::families::add_provider_metrics() {
    auto& requests_family =
        prometheus::BuildCounter()
            .Name("podsession_provider_requests_total")
            .Help(
                "Requests to the pod provider, by operation and result code (ok or the error "
                "class).")
            .Register(registry);
    auto& duration_family =
        prometheus::BuildHistogram()
            .Name("podsession_provider_request_duration_seconds")
            .Help("Latency of requests to the pod provider in seconds, by operation.")
            .Register(registry);
    for (std::size_t o = 0; o < all_operations.size(); ++o) {
        const std::string operation{to_string(all_operations[o])};
        for (std::size_t c = 0; c < all_codes.size(); ++c) {
            provider_requests[o][c] =
                &requests_family.Add({{"operation", operation},
                                      {"code", std::string{provider_code_label(all_codes[c])}}});
        }
        provider_request_duration[o] =
            &duration_family.Add({{"operation", operation}}, provider_latency_buckets);
    }
}

void metrics::families::add_process_metrics() {
    auto& reconcile_family = prometheus::BuildCounter()
                                 .Name("podsession_reconcile_total")
                                 .Help("Reconcile passes, by result: success, requeue or error.")
                                 .Register(registry);
    for (std::size_t i = 0; i < all_reconcile_results.size(); ++i) {
        reconcile_total[i] =
            &reconcile_family.Add({{"result", std::string{to_string(all_reconcile_results[i])}}});
    }

    reconcile_duration = &prometheus::BuildHistogram()
                              .Name("podsession_reconcile_duration_seconds")
                              .Help(
                                  "Duration of a reconcile pass in seconds, provider calls "
                                  "included.")
                              .Register(registry)
                              .Add({}, reconcile_buckets);

    auto& ready_family =
        prometheus::BuildHistogram()
            .Name("podsession_time_to_ready_seconds")
            .Help(
                "Seconds from a session's create request to its pod first reported RUNNING, "
                "by GPU type.")
            .Register(registry);
    for (const auto gpu : gpu_labels) {
        time_to_ready.push_back(
            &ready_family.Add({{"gpu_type", std::string{gpu}}}, time_to_ready_buckets));
    }

    leader = &prometheus::BuildGauge()
                  .Name("podsession_leader")
                  .Help(
                      "1 while this process acts on pods (it holds the lease, or leader "
                      "election is off), 0 otherwise.")
                  .Register(registry)
                  .Add({});

    prometheus::BuildGauge()
        .Name("podsession_build_info")
        .Help("Always 1, labelled with the version of the running controller.")
        .Register(registry)
        .Add({{"version", PODSESSION_VERSION}})
        .Set(1);
}

metrics::metrics() : families_{std::make_unique<families>()} {}

metrics::~metrics() = default;

void metrics::set_sessions(const session_counts& counts) {
    for (std::size_t i = 0; i < all_phases.size(); ++i) {
        const auto found = counts.find(all_phases[i]);
        const auto count = found == counts.end() ? 0 : found->second;
        families_->sessions[i]->Set(static_cast<double>(count));
    }
}

void metrics::set_pods(std::span<const crd::observed_pod> pods) {
    std::array<std::vector<std::size_t>, all_pod_statuses.size()> counts;
    counts.fill(std::vector<std::size_t>(families_->gpu_labels.size(), 0));
    for (const auto& pod : pods) {
        const auto status = index_of(all_pod_statuses, pod.status).value_or(unknown_status_index);
        ++counts[status][families_->gpu_index(pod.gpu_type)];
    }

    for (std::size_t s = 0; s < counts.size(); ++s) {
        for (std::size_t g = 0; g < counts[s].size(); ++g) {
            families_->pods[s][g]->Set(static_cast<double>(counts[s][g]));
        }
    }
}

void metrics::set_spend_per_hour(const cost_by_gpu_type& usd_per_hour) {
    std::vector<double> sums(families_->gpu_labels.size(), 0.0);
    for (const auto& [gpu_type, usd] : usd_per_hour) {
        sums[families_->gpu_index(gpu_type)] += usd;
    }
    for (std::size_t g = 0; g < sums.size(); ++g) {
        families_->spend_per_hour[g]->Set(sums[g]);
    }
}

void metrics::add_spend(std::string_view gpu_type, double usd) {
    if (!std::isfinite(usd) || usd < 0) {
        return;
    }
    families_->spend_total[families_->gpu_index(gpu_type)]->Increment(usd);
}

void metrics::record_pod_created(std::string_view gpu_type) {
    families_->pods_created[families_->gpu_index(gpu_type)]->Increment();
}

void metrics::record_pod_terminated(terminate_reason reason) {
    if (const auto r = index_of(all_terminate_reasons, reason)) {
        families_->pods_terminated[*r]->Increment();
    }
}

void metrics::record_terminate_failure() {
    families_->terminate_failures->Increment();
}

void metrics::record_provider_request(provider_operation operation,
                                      std::optional<providers::errc> error, seconds duration) {
    const auto o = index_of(all_operations, operation);
    const auto c = index_of(all_codes, error);
    if (!o || !c) {
        return;
    }
    families_->provider_requests[*o][*c]->Increment();
    families_->provider_request_duration[*o]->Observe(duration.count());
}

void metrics::record_reconcile(reconcile_result result, seconds duration) {
    if (const auto r = index_of(all_reconcile_results, result)) {
        families_->reconcile_total[*r]->Increment();
    }
    families_->reconcile_duration->Observe(duration.count());
}

void metrics::record_time_to_ready(std::string_view gpu_type, seconds duration) {
    families_->time_to_ready[families_->gpu_index(gpu_type)]->Observe(duration.count());
}

void metrics::set_leader(bool is_leader) {
    families_->leader->Set(is_leader ? 1 : 0);
}

std::string metrics::serialize() const {
    return prometheus::TextSerializer{}.Serialize(families_->registry.Collect());
}

std::string_view to_string(metrics::provider_operation value) {
    switch (value) {
        case metrics::provider_operation::create:
            return "create";
        case metrics::provider_operation::list:
            return "list";
        case metrics::provider_operation::get:
            return "get";
        case metrics::provider_operation::terminate:
            return "terminate";
    }
    return "unknown";
}

std::string_view to_string(metrics::terminate_reason value) {
    switch (value) {
        case metrics::terminate_reason::idle_timeout:
            return "idle_timeout";
        case metrics::terminate_reason::max_lifetime:
            return "max_lifetime";
        case metrics::terminate_reason::ready_timeout:
            return "ready_timeout";
        case metrics::terminate_reason::pod_failed:
            return "pod_failed";
        case metrics::terminate_reason::deleted:
            return "deleted";
        case metrics::terminate_reason::orphan:
            return "orphan";
        case metrics::terminate_reason::duplicate:
            return "duplicate";
    }
    return "unknown";
}

std::string_view to_string(metrics::reconcile_result value) {
    switch (value) {
        case metrics::reconcile_result::success:
            return "success";
        case metrics::reconcile_result::requeue:
            return "requeue";
        case metrics::reconcile_result::error:
            return "error";
    }
    return "unknown";
}

std::string_view provider_code_label(std::optional<providers::errc> error) {
    if (!error) {
        return "ok";
    }
    // No default case, so that -Wswitch flags a new error class without a label.
    switch (*error) {
        case providers::errc::unauthorized:
            return "unauthorized";
        case providers::errc::forbidden:
            return "forbidden";
        case providers::errc::payment_required:
            return "payment_required";
        case providers::errc::not_found:
            return "not_found";
        case providers::errc::conflict:
            return "conflict";
        case providers::errc::invalid_request:
            return "invalid_request";
        case providers::errc::capacity:
            return "capacity";
        case providers::errc::rate_limited:
            return "rate_limited";
        case providers::errc::transient:
            return "transient";
        case providers::errc::unknown_outcome:
            return "unknown_outcome";
    }
    return "unknown";
}

std::string_view gpu_type_label(std::string_view gpu_type) {
    const auto known = crd::known_gpu_ids();
    const auto found = std::ranges::find(known, gpu_type);
    return found == known.end() ? other_gpu_type : *found;
}

}  // namespace podsession::controller
