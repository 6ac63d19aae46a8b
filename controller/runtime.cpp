#include "controller/runtime.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <optional>
#include <stdexcept>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "controller/directory_store.hpp"
#include "controller/duration.hpp"
#include "controller/executor.hpp"
#include "controller/files.hpp"
#include "controller/http_endpoints.hpp"
#include "controller/instrumentation.hpp"
#include "controller/kubernetes/cluster_controller.hpp"
#include "controller/log.hpp"
#include "controller/metrics.hpp"
#include "net/url.hpp"
#include "providers/runpod/client.hpp"
#include "providers/simulated/simulator.hpp"

namespace podsession::controller {
namespace {

namespace asio = boost::asio;

// Removes the whitespace around a key, such as the newline that `echo` and
// `kubectl create secret --from-file` leave at the end.
std::string trim_key(std::string key) {
    const auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    while (!key.empty() && is_space(key.back())) {
        key.pop_back();
    }
    const auto first = std::ranges::find_if_not(key, is_space);
    key.erase(key.begin(), first);
    return key;
}

// Rejects a key that cannot go into an HTTP header. The message names the
// source, never the key.
void check_key_characters(const std::string& key, std::string_view source) {
    const bool has_control = std::ranges::any_of(key, [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte < 0x20 || byte == 0x7f;
    });
    if (has_control) {
        throw std::runtime_error(std::string{source} +
                                 " contains a control character, such as a line break inside "
                                 "the key; put the RunPod API key alone on one line");
    }
}

// Reads the RunPod API key from the key file, or else from RUNPOD_API_KEY.
std::string load_api_key(const run_options& options) {
    if (!options.runpod_api_key_file.empty()) {
        auto text = read_file(options.runpod_api_key_file, 4096);
        if (!text) {
            throw std::runtime_error("cannot read --runpod-api-key-file " +
                                     options.runpod_api_key_file.string() + ": " +
                                     text.error().message());
        }
        // Only the first line counts, as when the client reads the file again after a change.
        auto key = trim_key(text->substr(0, text->find('\n')));
        if (key.empty()) {
            throw std::runtime_error("--runpod-api-key-file " +
                                     options.runpod_api_key_file.string() +
                                     " is empty; put the RunPod API key in it");
        }
        check_key_characters(key, "--runpod-api-key-file " + options.runpod_api_key_file.string());
        return key;
    }
    const char* value = std::getenv("RUNPOD_API_KEY");
    auto key = trim_key(value == nullptr ? std::string{} : std::string{value});
    if (key.empty()) {
        throw std::runtime_error(
            "no RunPod API key: set RUNPOD_API_KEY or pass --runpod-api-key-file FILE, or run with "
            "--provider simulated to try the controller against a local RunPod simulator");
    }
    check_key_characters(key, "RUNPOD_API_KEY");
    return key;
}

// Logs how a coroutine ended, if it ended by an exception.
auto report_failure(std::string_view task) {
    return [task](std::exception_ptr failure) {
        if (!failure) {
            return;
        }
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& error) {
            spdlog::critical("task failed task={} error={}", task, log::quote(error.what()));
        }
    };
}

const char* lookup_environment(const char* name) {
    return std::getenv(name);
}

// The Kubernetes mode's settings: the kubeconfig, or the in-cluster config
// when there is neither a kubeconfig nor a sessions dir.
kubernetes::cluster_settings make_cluster_settings(const run_options& options) {
    kubernetes::cluster_settings cluster;
    if (!options.kubeconfig.empty()) {
        cluster.connection = kubernetes::load_kubeconfig(options.kubeconfig, options.kube_context);
    } else if (kubernetes::in_cluster(lookup_environment)) {
        cluster.connection = kubernetes::load_in_cluster_config(lookup_environment);
    } else {
        throw std::runtime_error(
            "no source of sessions: pass --sessions-dir DIR (directory mode) or --kubeconfig FILE, "
            "or run in a pod (KUBERNETES_SERVICE_HOST set)");
    }
    cluster.watch_namespace = options.namespace_name;
    cluster.identity = kubernetes::default_identity(lookup_environment);
    cluster.leader_elect = options.leader_elect;
    cluster.lease_namespace = options.leader_election_namespace;
    if (cluster.lease_namespace.empty()) {
        const char* pod_namespace = std::getenv("POD_NAMESPACE");
        cluster.lease_namespace =
            pod_namespace != nullptr && *pod_namespace != '\0' ? pod_namespace : "default";
    }
    cluster.lease_name = "podsession-controller-" + options.controller_id;
    cluster.lease_duration = options.lease_duration;
    cluster.renew_deadline = options.renew_deadline;
    cluster.retry_period = options.retry_period;
    return cluster;
}

// The simulated pods' state file: the option, else one in the sessions
// dir's status folder, so that a second run adopts the pods of the first.
// Kubernetes mode has no folder of its own, so there the pods end with the
// process unless the option names a file.
std::filesystem::path simulated_state_file(const run_options& options) {
    if (!options.simulated_state_file.empty() || options.sessions_dir.empty()) {
        return options.simulated_state_file;
    }
    const auto folder = options.sessions_dir / ".status";
    std::error_code error;
    std::filesystem::create_directories(folder, error);
    if (error) {
        throw std::runtime_error("cannot create " + folder.string() +
                                 " for the simulated pods' state file: " + error.message());
    }
    return folder / "simulated-runpod.json";
}

}  // namespace

int run_controller(const run_options& options) {
    const bool kubernetes_mode = options.sessions_dir.empty();
    std::optional<kubernetes::cluster_settings> cluster;
    if (kubernetes_mode) {
        cluster = make_cluster_settings(options);
    } else {
        if (!options.kubeconfig.empty()) {
            throw std::runtime_error(
                "--sessions-dir and --kubeconfig exclude each other: sessions come from a "
                "directory or from the Kubernetes API");
        }
        if (options.leader_elect) {
            throw std::runtime_error(
                "--leader-elect needs the Kubernetes API for its Lease; it does not work with "
                "--sessions-dir");
        }
        std::error_code exists_error;
        if (!std::filesystem::is_directory(options.sessions_dir, exists_error)) {
            throw std::runtime_error(
                "--sessions-dir " + options.sessions_dir.string() +
                " is not a directory; create it or point at the folder of PodSession files");
        }
    }

    asio::io_context io{1};
    metrics registry;
    // Without leader election this process is the only one acting.
    registry.set_leader(!options.leader_elect);

    providers::runpod::client_options client;
    std::optional<providers::simulated::in_process_simulator> simulator;
    if (options.provider == provider_kind::simulated) {
        providers::simulated::simulator_options simulated;
        simulated.store.schedule.provisioning = options.simulated_boot / 2;
        simulated.store.schedule.starting = options.simulated_boot - options.simulated_boot / 2;
        simulated.state_file = simulated_state_file(options);
        const auto state_file = simulated.state_file;
        simulator = providers::simulated::start_in_process(io.get_executor(), std::move(simulated));
        client.base_url = simulator->base_url;
        client.api_key = simulator->api_key;
        spdlog::info(
            "using the simulated RunPod; no real pod is created url={} boot={} state_file={}",
            simulator->base_url, format_duration(options.simulated_boot),
            state_file.empty() ? "none" : log::quote(state_file.string()));
    } else {
        client.api_key = load_api_key(options);
        if (!options.runpod_api_key_file.empty()) {
            // Read again whenever it changes, so a rotated key needs no restart.
            client.api_key_file = options.runpod_api_key_file;
        }
        client.base_url = options.runpod_base_url.empty()
                              ? std::string{providers::runpod::default_base_url}
                              : options.runpod_base_url;
        if (!options.runpod_ca_file.empty()) {
            client.http.tls.ca_file = options.runpod_ca_file;
        }
        client.http.request_timeout = options.runpod_request_timeout;
        client.http.read_timeout =
            std::min(client.http.read_timeout, options.runpod_request_timeout);
        client.http.connect_timeout =
            std::min(client.http.connect_timeout, options.runpod_request_timeout);
        // Logged as parsed, which has no user info or query: a URL that would
        // carry a key is never written to the log, and make_provider rejects it.
        const auto origin = net::parse_origin(client.base_url);
        spdlog::info("using RunPod url={} key_source={} request_timeout={}",
                     origin ? origin->to_string() : std::string{"<invalid>"},
                     options.runpod_api_key_file.empty() ? "environment" : "file",
                     format_duration(options.runpod_request_timeout));
    }
    const auto runpod = providers::runpod::make_provider(io.get_executor(), client);
    instrumented_provider provider{*runpod, registry};

    executor_options settings;
    settings.planner.controller_id = options.controller_id;
    settings.planner.default_idle_ttl =
        std::chrono::duration_cast<std::chrono::seconds>(options.default_idle_ttl);
    settings.planner.orphan_grace =
        std::chrono::duration_cast<std::chrono::seconds>(options.orphan_grace);
    settings.planner.create_settle =
        std::chrono::duration_cast<std::chrono::seconds>(options.create_settle);
    settings.planner.max_pods = options.max_pods;
    settings.planner.max_cost_per_hour = options.max_cost_per_hour;
    settings.planner.dry_run = options.dry_run;
    settings.workers = options.workers;
    settings.resync_interval = options.resync_interval;
    settings.poll_interval = options.poll_interval;
    if (options.create_settle < options.poll_interval) {
        // A create whose response was lost is sent again once the settle time
        // passes without the pod in a list. With no list in between, a pod
        // that exists is created a second time.
        spdlog::warn(
            "--create-settle is shorter than --poll-interval, so a create whose answer was lost "
            "may make a second pod; make it longer than RunPod's listing lag (default 60s) "
            "create_settle={} poll_interval={}",
            format_duration(options.create_settle), format_duration(options.poll_interval));
    }

    system_clock clock;
    metrics_observer observer{registry, options.controller_id};

    // The source and the executor: a directory, or the Kubernetes API.
    std::optional<directory_store> store;
    std::optional<executor> controller;
    std::optional<kubernetes::cluster_controller> cluster_mode;
    std::function<bool()> ready;
    std::function<void()> stop;
    std::optional<asio::awaitable<void>> main_task;
    if (kubernetes_mode) {
        cluster_mode.emplace(io.get_executor(), std::move(*cluster), provider, clock, settings,
                             &observer, registry);
        ready = [&] { return cluster_mode->ready(); };
        stop = [&] { cluster_mode->stop(); };
        main_task.emplace(cluster_mode->run());
    } else {
        store.emplace(
            io.get_executor(),
            directory_store::options{options.sessions_dir, options.rescan_interval, {}, {}});
        controller.emplace(io.get_executor(), provider, *store, clock, settings, &observer);
        ready = [&] { return controller->ready(); };
        stop = [&] {
            controller->stop();
            store->stop();
        };
        asio::co_spawn(io, store->run(*controller), report_failure("session store"));
        main_task.emplace(controller->run());
    }

    const auto listen_endpoint = net::parse_listen_endpoint(options.listen);
    if (!listen_endpoint) {
        throw std::runtime_error("--listen " + options.listen +
                                 " is not ADDR:PORT, [ADDR]:PORT or :PORT");
    }
    net::server endpoints{io.get_executor(), make_endpoints(registry, [&] { return ready(); })};
    const auto bound = endpoints.listen(*listen_endpoint);
    if (!bound) {
        throw std::runtime_error("cannot listen on " + options.listen + ": " +
                                 bound.error().message());
    }
    spdlog::info("serving metrics and health address={} sessions_dir={} controller_id={}",
                 net::format_endpoint(*bound),
                 kubernetes_mode ? "none" : log::quote(options.sessions_dir.string()),
                 options.controller_id);

    asio::signal_set signals{io, SIGINT, SIGTERM};
    signals.async_wait([&](const boost::system::error_code& error, int signal) {
        if (error) {
            return;
        }
        spdlog::info("stopping on signal; pods keep running for the next start to adopt signal={}",
                     signal);
        stop();
        endpoints.stop();
        if (simulator) {
            simulator->server->stop();
        }
    });

    asio::co_spawn(io, std::move(*main_task),
                   [&, report = report_failure("controller")](std::exception_ptr failure) {
                       report(failure);
                       // Idle pooled connections and their timers would keep the loop alive.
                       io.stop();
                   });
    io.run();
    spdlog::info("stopped");
    return 0;
}

}  // namespace podsession::controller
