#pragma once

#include <memory>

#include "controller/executor.hpp"
#include "controller/metrics.hpp"
#include "controller/spend.hpp"
#include "providers/provider.hpp"

namespace podsession::controller {

// Feeds what the executor reports into the metrics registry and the spend
// tracker.
class metrics_observer final : public executor_observer {
  public:
    metrics_observer(metrics& registry, std::string controller_id);

    void pod_created(const std::string& gpu_type) override;
    void pod_terminated(reconcile::termination_reason reason) override;
    void terminate_failed() override;
    void pod_ready(const std::string& gpu_type, std::chrono::milliseconds time_to_ready) override;
    void reconciled(std::string_view result, std::chrono::nanoseconds duration) override;
    void pods_listed(const std::vector<crd::observed_pod>& pods, crd::timestamp now) override;
    void sessions_counted(const std::map<crd::session_phase, int>& counts) override;

  private:
    metrics& registry_;
    spend_tracker spend_;
    std::string prefix_;
};

// A provider that times and counts every call of another one by operation and
// error class (`podsession_provider_requests_total`,
// `podsession_provider_request_duration_seconds`).
class instrumented_provider final : public providers::provider {
  public:
    instrumented_provider(providers::provider& inner, metrics& registry)
        : inner_{inner}, registry_{registry} {}

    boost::asio::awaitable<providers::result<crd::observed_pod>> create_pod(
        const providers::create_pod_request& request) override;
    boost::asio::awaitable<providers::result<std::vector<crd::observed_pod>>> list_pods() override;
    boost::asio::awaitable<providers::result<crd::observed_pod>> get_pod(
        std::string_view pod_id) override;
    boost::asio::awaitable<providers::result<void>> terminate_pod(std::string_view pod_id) override;
    bool lists_env() const noexcept override { return inner_.lists_env(); }

  private:
    template <class T>
    void record(metrics::provider_operation operation, const providers::result<T>& outcome,
                std::chrono::steady_clock::time_point started);

    providers::provider& inner_;
    metrics& registry_;
};

}  // namespace podsession::controller
