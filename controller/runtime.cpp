#include "controller/runtime.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>
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
#include "controller/log.hpp"
#include "controller/metrics.hpp"
#include "providers/runpod/client.hpp"
#include "providers/simulated/simulator.hpp"

namespace podsession::controller {
namespace {

namespace asio = boost::asio;

// Reads the RunPod API key from the key file, or else from RUNPOD_API_KEY.
std::string load_api_key(const run_options& options) {
    if (!options.runpod_api_key_file.empty()) {
        auto text = read_file(options.runpod_api_key_file, 4096);
        if (!text) {
            throw std::runtime_error("cannot read --runpod-api-key-file " +
                                     options.runpod_api_key_file.string() + ": " +
                                     text.error().message());
        }
        while (!text->empty() && std::isspace(static_cast<unsigned char>(text->back()))) {
            text->pop_back();
        }
        if (text->empty()) {
            throw std::runtime_error("--runpod-api-key-file " +
                                     options.runpod_api_key_file.string() +
                                     " is empty; put the RunPod API key in it");
        }
        return std::move(*text);
    }
    const char* key = std::getenv("RUNPOD_API_KEY");
    if (key == nullptr || *key == '\0') {
        throw std::runtime_error(
            "no RunPod API key: set RUNPOD_API_KEY or pass --runpod-api-key-file FILE, or run with "
            "--provider simulated to try the controller against a local RunPod simulator");
    }
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

}  // namespace

int run_controller(const run_options& options) {
    if (options.sessions_dir.empty()) {
        throw std::runtime_error(
            "no source of sessions: pass --sessions-dir DIR (directory mode) or --kubeconfig FILE");
    }
    std::error_code exists_error;
    if (!std::filesystem::is_directory(options.sessions_dir, exists_error)) {
        throw std::runtime_error(
            "--sessions-dir " + options.sessions_dir.string() +
            " is not a directory; create it or point at the folder of PodSession files");
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
        simulator = providers::simulated::start_in_process(io.get_executor(), std::move(simulated));
        client.base_url = simulator->base_url;
        client.api_key = simulator->api_key;
        spdlog::info("using the simulated RunPod; no real pod is created url={} boot={}",
                     simulator->base_url, format_duration(options.simulated_boot));
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
        spdlog::info("using RunPod url={} key_source={} request_timeout={}", client.base_url,
                     options.runpod_api_key_file.empty() ? "environment" : "file",
                     format_duration(options.runpod_request_timeout));
    }
    const auto runpod = providers::runpod::make_provider(io.get_executor(), client);
    instrumented_provider provider{*runpod, registry};

    directory_store store{io.get_executor(),
                          {options.sessions_dir, options.rescan_interval, {}, {}}};

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

    system_clock clock;
    metrics_observer observer{registry, options.controller_id};
    executor controller{io.get_executor(), provider, store, clock, settings, &observer};

    const auto listen_endpoint = net::parse_listen_endpoint(options.listen);
    if (!listen_endpoint) {
        throw std::runtime_error("--listen " + options.listen +
                                 " is not ADDR:PORT, [ADDR]:PORT or :PORT");
    }
    net::server endpoints{io.get_executor(),
                          make_endpoints(registry, [&] { return controller.ready(); })};
    const auto bound = endpoints.listen(*listen_endpoint);
    if (!bound) {
        throw std::runtime_error("cannot listen on " + options.listen + ": " +
                                 bound.error().message());
    }
    spdlog::info("serving metrics and health address={} sessions_dir={} controller_id={}",
                 net::format_endpoint(*bound), log::quote(options.sessions_dir.string()),
                 options.controller_id);

    asio::signal_set signals{io, SIGINT, SIGTERM};
    signals.async_wait([&](const boost::system::error_code& error, int signal) {
        if (error) {
            return;
        }
        spdlog::info("stopping on signal; pods keep running for the next start to adopt signal={}",
                     signal);
        controller.stop();
        store.stop();
        endpoints.stop();
        if (simulator) {
            simulator->server->stop();
        }
    });

    asio::co_spawn(io, store.run(controller), report_failure("session store"));
    asio::co_spawn(io, controller.run(),
                   [&, report = report_failure("executor")](std::exception_ptr failure) {
                       report(failure);
                       // Idle pooled connections and their timers would keep the loop alive.
                       io.stop();
                   });
    io.run();
    spdlog::info("stopped");
    return 0;
}

}  // namespace podsession::controller
