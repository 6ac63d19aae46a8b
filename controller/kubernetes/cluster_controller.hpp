#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "controller/clock.hpp"
#include "controller/executor.hpp"
#include "controller/kubernetes/api_client.hpp"
#include "controller/kubernetes/api_store.hpp"
#include "controller/kubernetes/config.hpp"
#include "controller/kubernetes/leader_election.hpp"
#include "controller/kubernetes/leader_runner.hpp"
#include "controller/metrics.hpp"
#include "providers/provider.hpp"

namespace podsession::controller::kubernetes {

struct cluster_settings {
    connection_config connection;
    // The namespace of the PodSessions; empty watches every namespace.
    std::string watch_namespace;
    // This replica: the Lease holder identity, the Events' reportingInstance
    // and part of the User-Agent.
    std::string identity;
    bool leader_elect = false;
    std::string lease_namespace = "default";
    std::string lease_name;
    std::chrono::milliseconds lease_duration{std::chrono::seconds{15}};
    std::chrono::milliseconds renew_deadline{std::chrono::seconds{10}};
    std::chrono::milliseconds retry_period{std::chrono::seconds{2}};
};

// The controller in Kubernetes mode: the API store, and either one executor
// or, with leader election, an executor only while this replica holds the
// Lease (the store keeps watching either way).
class cluster_controller {
  public:
    // Throws `config_error` when the connection's TLS files cannot be loaded.
    cluster_controller(boost::asio::any_io_executor io, cluster_settings settings,
                       providers::provider& provider, controller::clock& clock,
                       executor_options executor_settings, executor_observer* observer,
                       metrics& registry);

    [[nodiscard]] boost::asio::awaitable<void> run();

    // Stops acting; with leader election, releases the Lease once the
    // executor has finished.
    void stop();

    [[nodiscard]] bool ready() const;

  private:
    [[nodiscard]] std::unique_ptr<executor> make_executor(providers::provider& provider);
    [[nodiscard]] boost::asio::awaitable<void> run_terms();

    boost::asio::any_io_executor io_;
    cluster_settings settings_;
    providers::provider& provider_;
    controller::clock& clock_;
    executor_options executor_settings_;
    executor_observer* observer_;
    metrics& registry_;

    api_client client_;
    std::optional<api_client> lease_client_;
    std::optional<leader_elector> elector_;
    std::optional<leader_gated_provider> gated_provider_;
    api_store store_;
    session_relay relay_;
    std::optional<leader_runner> runner_;
    // Without leader election: the one executor.
    std::unique_ptr<executor> executor_;
};

// The identity of this replica: POD_NAME, else `<hostname>_<pid>`.
[[nodiscard]] std::string default_identity(const environment_lookup& environment);

}  // namespace podsession::controller::kubernetes
