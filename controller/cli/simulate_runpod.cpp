#include <stdlib.h>
#include <sys/stat.h>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/program_options.hpp>

#include "controller/cli/arguments.hpp"
#include "controller/cli/commands.hpp"
#include "controller/log.hpp"
#include "net/server.hpp"
#include "providers/simulated/simulator.hpp"

namespace podsession::controller::cli {

namespace {

namespace options = boost::program_options;
namespace simulated = providers::simulated;

// Reads a key file: its first line, without the line ending.
std::string read_key_file(const std::string& path) {
    std::ifstream file{path};
    if (!file) {
        throw std::runtime_error{"cannot read the API key file \"" + path + "\""};
    }
    std::string key;
    std::getline(file, key);
    if (!key.empty() && key.back() == '\r') {
        key.pop_back();
    }
    if (key.empty()) {
        throw std::runtime_error{"the API key file \"" + path + "\" is empty"};
    }
    return key;
}

// Writes a generated key to a new private directory, so that it can be
// handed to a client without printing it.
std::string write_generated_key(const std::string& key) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "podsession-sim-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error{"cannot create a directory for the generated API key"};
    }
    const auto path = std::filesystem::path{pattern} / "api-key";
    const auto old_mask = umask(0077);
    std::ofstream file{path};
    umask(old_mask);
    file << key << '\n';
    if (!file) {
        throw std::runtime_error{"cannot write the generated API key to \"" + path.string() + "\""};
    }
    return path.string();
}

// Parses `NAME=QUOTA/SECONDS`, for example `minute=60/60`.
simulated::rate_limit_policy parse_rate_limit_option(const std::string& text) {
    const auto equals = text.find('=');
    const auto slash = text.find('/', equals == std::string::npos ? 0 : equals);
    const auto invalid = [&] {
        return std::invalid_argument{"--rate-limit \"" + text +
                                     "\" is not NAME=QUOTA/SECONDS, for example minute=60/60"};
    };
    if (equals == std::string::npos || equals == 0 || slash == std::string::npos) {
        throw invalid();
    }
    simulated::rate_limit_policy policy;
    policy.name = text.substr(0, equals);
    if (policy.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz") != std::string::npos) {
        throw invalid();
    }
    try {
        std::size_t used = 0;
        const auto quota_text = text.substr(equals + 1, slash - equals - 1);
        policy.quota = std::stoll(quota_text, &used);
        if (used != quota_text.size()) {
            throw invalid();
        }
        const auto seconds_text = text.substr(slash + 1);
        const auto seconds = std::stoll(seconds_text, &used);
        if (used != seconds_text.size()) {
            throw invalid();
        }
        policy.length = std::chrono::seconds{seconds};
    } catch (const std::logic_error&) {
        throw invalid();
    }
    if (policy.quota < 1 || policy.length.count() < 1 || policy.length.count() > 86'400) {
        throw std::invalid_argument{"--rate-limit \"" + text +
                                    "\" needs a quota of at least 1 and a window of 1..86400 s"};
    }
    return policy;
}

// Reads and parses the fault plan of `--faults`.
simulated::fault_plan read_fault_plan(const std::string& path) {
    std::ifstream file{path, std::ios::binary};
    if (!file) {
        throw std::runtime_error{"cannot read the fault file \"" + path + "\""};
    }
    std::stringstream text;
    text << file.rdbuf();
    auto plan = simulated::parse_fault_plan(text.str());
    if (!plan) {
        throw std::runtime_error{"invalid fault file \"" + path + "\": " + plan.error()};
    }
    return std::move(*plan);
}

}  // namespace

constexpr std::string_view simulate_runpod_usage =
    "usage: podsession simulate-runpod [options]\n"
    "\n"
    "Serves RunPod's REST v2 pod API on a local port with simulated pods.\n"
    "Prints the bound ADDR:PORT as the first line of standard output.\n";

int run_simulate_runpod(std::span<char* const> args) {
    options::options_description description{"options"};
    std::string listen;
    std::string key_file;
    double boot_seconds = 10;
    std::string log_level;
    std::string faults_file;
    std::string state_file;
    std::string tls_certificate;
    std::string tls_key;
    std::vector<std::string> rate_limits;
    description.add_options()("help,h", "print this help")(
        "listen", options::value(&listen)->value_name("ADDR:PORT")->default_value("127.0.0.1:0"),
        "ADDR:PORT to listen on; port 0 picks a free port")(
        "api-key-file", options::value(&key_file)->value_name("FILE"),
        "file whose first line is the API key that clients must send; without it a key is "
        "generated and written to a new private file, printed as the second line of output "
        "`api-key-file PATH` and removed when the simulator stops")(
        "boot-seconds", options::value(&boot_seconds)->value_name("SECONDS")->default_value(10),
        "seconds from create to RUNNING, half PROVISIONING and half STARTING")(
        "record",
        "keep request and response bodies for GET /_sim/exchanges (they contain env "
        "values: for tests only)")(
        "faults", options::value(&faults_file)->value_name("FILE"),
        "YAML or JSON file of fault rules to start with (see docs/simulator.md); "
        "/_sim/faults changes them at run time")(
        "state-file", options::value(&state_file)->value_name("FILE"),
        "JSON file that keeps the live pods across restarts: loaded at start, saved at most "
        "once a second while pods change and at SIGTERM or SIGINT, with mode 0600 because it "
        "contains the pods' env; without it the pods end with the process")(
        "tls-cert", options::value(&tls_certificate)->value_name("FILE"),
        "PEM certificate chain to serve HTTPS with; needs --tls-key")(
        "tls-key", options::value(&tls_key)->value_name("FILE"), "PEM private key of --tls-cert")(
        "rate-limit", options::value(&rate_limits)->value_name("NAME=QUOTA/SECONDS")->composing(),
        "NAME=QUOTA/SECONDS, a quota window replacing the defaults (minute=600/60, "
        "hour=30000/3600, day=500000/86400); repeat for several windows")(
        "log-level", options::value(&log_level)->value_name("LEVEL")->default_value("info"),
        "trace, debug, info, warn or error");

    options::variables_map values;
    if (const auto stop = parse_command_line(
            {.command = "simulate-runpod", .usage = simulate_runpod_usage, .options = description},
            args, values)) {
        return *stop;
    }
    constexpr std::string_view command = "simulate-runpod";
    if (!std::isfinite(boot_seconds) || boot_seconds < 0 || boot_seconds > 86'400) {
        std::ostringstream message;
        message << "--boot-seconds " << boot_seconds << " is out of range 0..86400";
        return usage_error(command, message.str());
    }
    const auto endpoint = net::parse_listen_endpoint(listen);
    if (!endpoint) {
        return usage_error(command, "--listen \"" + listen +
                                        "\" is not ADDR:PORT (for example 127.0.0.1:8080 or "
                                        "[::1]:0)");
    }
    // spdlog reads an unknown name as `off`, which would silence the log.
    const auto level = log::parse_level(log_level);
    if (!level) {
        return usage_error(command, "--log-level \"" + log_level +
                                        "\" is not a log level; use trace, debug, info, warn or "
                                        "error");
    }
    if (tls_certificate.empty() != tls_key.empty()) {
        return usage_error(command, "--tls-cert and --tls-key go together; pass both or neither");
    }
    std::vector<simulated::rate_limit_policy> rate_limit_policies;
    try {
        for (const auto& text : rate_limits) {
            rate_limit_policies.push_back(parse_rate_limit_option(text));
        }
    } catch (const std::invalid_argument& error) {
        return usage_error(command, error.what());
    }

    auto logger = spdlog::stderr_color_mt("simulate-runpod");
    spdlog::set_default_logger(logger);
    spdlog::set_level(*level);

    simulated::simulator_options settings;
    const auto half_boot = std::chrono::milliseconds{std::llround(boot_seconds * 500)};
    settings.store.schedule = simulated::boot_schedule{half_boot, half_boot};
    settings.record_exchanges = values.count("record") != 0;
    settings.state_file = state_file;
    if (!rate_limit_policies.empty()) {
        settings.rate_limits = std::move(rate_limit_policies);
    }
    if (!tls_certificate.empty()) {
        settings.server.tls = net::server_tls_options{tls_certificate, tls_key};
    }

    // Everything that can fail comes before a generated key is written, so
    // that a failed start leaves no key file behind.
    boost::asio::io_context io;
    std::optional<simulated::simulator> server;
    std::string generated_key;
    try {
        if (key_file.empty()) {
            generated_key = simulated::generate_api_key();
            settings.api_key = generated_key;
        } else {
            settings.api_key = read_key_file(key_file);
        }
        if (!faults_file.empty()) {
            settings.initial_faults = read_fault_plan(faults_file);
        }
        server.emplace(io.get_executor(), std::move(settings));
    } catch (const std::exception& error) {
        std::cerr << "podsession simulate-runpod: " << error.what() << '\n';
        return exit_failure;
    }
    const auto bound = server->listen(*endpoint);
    if (!bound) {
        std::cerr << "podsession simulate-runpod: cannot listen on " << listen << ": "
                  << bound.error().message() << '\n';
        return exit_failure;
    }
    std::string generated_key_file;
    if (!generated_key.empty()) {
        try {
            generated_key_file = write_generated_key(generated_key);
        } catch (const std::exception& error) {
            std::cerr << "podsession simulate-runpod: " << error.what() << '\n';
            return exit_failure;
        }
    }
    std::cout << net::format_endpoint(*bound) << '\n';
    if (!generated_key_file.empty()) {
        std::cout << "api-key-file " << generated_key_file << '\n';
    }
    std::cout.flush();
    spdlog::info("RunPod simulator started url={} boot_seconds={} fault_rules={} state_file={}",
                 server->base_url(), boot_seconds, server->faults().plan().rules.size(),
                 state_file.empty() ? "none" : state_file);

    boost::asio::signal_set signals{io, SIGINT, SIGTERM};
    signals.async_wait([&](const boost::system::error_code& error, int signal) {
        if (!error) {
            spdlog::info("RunPod simulator stopping signal={}", signal);
            server->stop();
        }
    });
    io.run();
    if (!generated_key_file.empty()) {
        // The key is only good while this process serves it.
        std::error_code ignored;
        std::filesystem::remove_all(std::filesystem::path{generated_key_file}.parent_path(),
                                    ignored);
    }
    spdlog::info("RunPod simulator stopped");
    return exit_ok;
}

}  // namespace podsession::controller::cli
