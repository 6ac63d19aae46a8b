#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

namespace podsession::controller {

enum class provider_kind { runpod, simulated };

// Everything `podsession run` is told on its command line.
struct run_options {
    std::filesystem::path sessions_dir;
    // Kubernetes mode: a kubeconfig and its context (the current one when
    // empty). Without a kubeconfig and a sessions dir, the in-cluster config.
    std::filesystem::path kubeconfig;
    std::string kube_context;
    provider_kind provider = provider_kind::simulated;
    std::string controller_id = "default";
    std::string namespace_name;
    std::string listen = ":8080";
    bool leader_elect = false;
    // The Lease's namespace; empty means POD_NAMESPACE, else `default`.
    std::string leader_election_namespace;
    std::chrono::milliseconds lease_duration{std::chrono::seconds{15}};
    std::chrono::milliseconds renew_deadline{std::chrono::seconds{10}};
    std::chrono::milliseconds retry_period{std::chrono::seconds{2}};
    bool dry_run = false;
    std::chrono::milliseconds default_idle_ttl{std::chrono::minutes{15}};
    std::chrono::milliseconds orphan_grace{std::chrono::minutes{10}};
    std::chrono::milliseconds create_settle{std::chrono::seconds{60}};
    std::chrono::milliseconds resync_interval{std::chrono::seconds{30}};
    std::chrono::milliseconds poll_interval{std::chrono::seconds{5}};
    std::chrono::milliseconds rescan_interval{std::chrono::seconds{10}};
    std::optional<int> max_pods;
    std::optional<double> max_cost_per_hour;
    std::size_t workers = 16;
    std::filesystem::path runpod_api_key_file;
    std::string runpod_base_url;
    std::filesystem::path runpod_ca_file;
    // One RunPod request, connecting included; reads and DELETEs may retry
    // within their own budget.
    std::chrono::milliseconds runpod_request_timeout{std::chrono::seconds{60}};
    // Time a simulated pod takes from create to RUNNING.
    std::chrono::milliseconds simulated_boot{std::chrono::seconds{3}};
    // The file that keeps simulated pods across restarts. Empty means
    // `<sessions_dir>/.status/simulated-runpod.json` in directory mode and no
    // file in Kubernetes mode.
    std::filesystem::path simulated_state_file;
};

// Assembles the controller from the options and runs it until SIGINT or
// SIGTERM. Returns the process exit status. Configuration errors throw
// `std::runtime_error` with a complete message, before anything runs.
[[nodiscard]] int run_controller(const run_options& options);

}  // namespace podsession::controller
