#include <iostream>
#include <stdexcept>

#include <spdlog/spdlog.h>
#include <boost/program_options.hpp>

#include "controller/cli/arguments.hpp"
#include "controller/cli/commands.hpp"
#include "controller/duration.hpp"
#include "controller/log.hpp"
#include "controller/runtime.hpp"
#include "crd/validate.hpp"
#include "net/server.hpp"
#include "net/url.hpp"

namespace podsession::controller::cli {
namespace {

namespace po = boost::program_options;

std::chrono::milliseconds duration_option(const po::variables_map& values, const char* name) {
    const auto text = values[name].as<std::string>();
    const auto parsed = parse_duration(text);
    if (!parsed) {
        throw std::invalid_argument(
            std::string{"--"} + name + " " + text +
            " is not a duration; write it with units, such as 90s, 15m or 1h30m");
    }
    return *parsed;
}

// Reads a namespace option, which must be a DNS label as namespaces are.
std::string namespace_option(const po::variables_map& values, const char* name) {
    const auto text = values[name].as<std::string>();
    if (!crd::is_dns1123_label(text)) {
        throw std::invalid_argument(std::string{"--"} + name + " " + text +
                                    " is not a valid namespace name (lowercase DNS label)");
    }
    return text;
}

// Reads the Lease timing. The rules are client-go's: a leader must give up
// before a follower may take over, and must get more than one jittered retry
// within its deadline.
void read_lease_timing(const po::variables_map& values, run_options& settings) {
    settings.lease_duration = duration_option(values, "leader-election-lease-duration");
    settings.renew_deadline = duration_option(values, "leader-election-renew-deadline");
    settings.retry_period = duration_option(values, "leader-election-retry-period");

    if (settings.retry_period < std::chrono::milliseconds{100}) {
        throw std::invalid_argument("--leader-election-retry-period must be at least 100ms");
    }
    if (settings.lease_duration <= settings.renew_deadline) {
        throw std::invalid_argument(
            "--leader-election-lease-duration must be longer than "
            "--leader-election-renew-deadline");
    }
    if (settings.renew_deadline.count() * 5 <= settings.retry_period.count() * 6) {
        throw std::invalid_argument(
            "--leader-election-renew-deadline must be longer than 1.2 times "
            "--leader-election-retry-period");
    }
    if (settings.lease_duration % std::chrono::seconds{1} != std::chrono::milliseconds{0}) {
        throw std::invalid_argument(
            "--leader-election-lease-duration must be whole seconds: the Lease stores seconds");
    }
}

// Checks --runpod-base-url. The value stays out of the messages, because a URL
// that is rejected may carry a key in its user info or its query.
void check_base_url(const std::string& url) {
    if (net::parse_origin(url)) {
        return;
    }
    // The authority runs from `//` to the first `/`, `?` or `#`; an `@` in it
    // ends the user info (RFC 3986).
    const auto scheme_end = url.find("://");
    if (scheme_end != std::string::npos) {
        const auto authority =
            url.substr(scheme_end + 3, url.find_first_of("/?#", scheme_end + 3) - (scheme_end + 3));
        if (authority.find('@') != std::string::npos) {
            throw std::invalid_argument(
                "--runpod-base-url: user info (USER:PASSWORD@) is not allowed in the URL; "
                "give the API key with --runpod-api-key-file or RUNPOD_API_KEY");
        }
    }
    throw std::invalid_argument(
        "--runpod-base-url: not an http:// or https:// URL with a host and without a query or "
        "fragment, such as https://api.runpod.io");
}

void read_kubernetes_options(const po::variables_map& values, run_options& settings) {
    if (values.count("kubeconfig")) {
        settings.kubeconfig = values["kubeconfig"].as<std::string>();
    }
    if (values.count("context")) {
        if (!values.count("kubeconfig")) {
            throw std::invalid_argument(
                "--context needs --kubeconfig: it names a kubeconfig context");
        }
        settings.kube_context = values["context"].as<std::string>();
    }
    if (values.count("namespace")) {
        settings.namespace_name = namespace_option(values, "namespace");
    }

    settings.leader_elect = values.count("leader-elect") > 0;
    if (values.count("leader-election-namespace")) {
        settings.leader_election_namespace = namespace_option(values, "leader-election-namespace");
    }
    read_lease_timing(values, settings);
}

}  // namespace

constexpr std::string_view run_usage =
    "usage: podsession run (--sessions-dir DIR | --kubeconfig FILE | in a pod) [options]\n"
    "\n"
    "Runs the controller: keeps one RunPod pod per live PodSession, publishes its URL\n"
    "and token, and terminates it when the session expires or is deleted. Without\n"
    "--sessions-dir and --kubeconfig, it uses the pod's service account (in cluster).\n";

int run_run(std::span<char* const> args) {
    po::options_description options{"options"};
    // clang-format off
    options.add_options()
        ("help,h", "print this help")
        ("sessions-dir", po::value<std::string>()->value_name("DIR"), "directory mode: read PodSession YAML files from DIR")
        ("kubeconfig", po::value<std::string>()->value_name("FILE"), "Kubernetes mode: the kubeconfig FILE to reach the API server")
        ("context", po::value<std::string>()->value_name("NAME"), "the kubeconfig context to use (default: its current-context)")
        ("namespace", po::value<std::string>()->value_name("NAMESPACE"), "Kubernetes mode: watch PodSessions in this namespace only (default: all)")
        ("leader-elect", "act only while holding the Lease podsession-controller-<controller-id>, so "
            "that one of several replicas acts")
        ("leader-election-namespace", po::value<std::string>()->value_name("NAMESPACE"),
            "namespace of the Lease (default: $POD_NAMESPACE, else default)")
        ("leader-election-lease-duration", po::value<std::string>()->value_name("DURATION")->default_value("15s"),
            "how long followers wait after the leader's last renewal before taking over")
        ("leader-election-renew-deadline", po::value<std::string>()->value_name("DURATION")->default_value("10s"),
            "how long the leader keeps acting without a successful renewal")
        ("leader-election-retry-period", po::value<std::string>()->value_name("DURATION")->default_value("2s"),
            "how often the Lease is renewed or tried")
        ("provider", po::value<std::string>()->value_name("NAME")->default_value("simulated"),
            "runpod, or simulated for a RunPod simulator inside the process")
        ("controller-id", po::value<std::string>()->value_name("ID")->default_value("default"),
            "1..16 of [a-z0-9]; pods are named psn-<id>-..., and only those are managed")
        ("listen", po::value<std::string>()->value_name("ADDR:PORT")->default_value(":8080"),
            "ADDR:PORT for /metrics, /healthz and /readyz")
        ("dry-run", "plan and log, but create or terminate no pod")
        ("default-idle-ttl", po::value<std::string>()->value_name("DURATION")->default_value("15m"),
            "idle TTL of sessions without spec.idleTTLSeconds")
        ("orphan-grace", po::value<std::string>()->value_name("DURATION")->default_value("10m"),
            "age at which a pod of this controller without a session is terminated")
        ("create-settle", po::value<std::string>()->value_name("DURATION")->default_value("60s"),
            "how long a new pod may be missing from RunPod's list before it is created again")
        ("resync-interval", po::value<std::string>()->value_name("DURATION")->default_value("30s"),
            "how often RunPod's pod list is read in full")
        ("poll-interval", po::value<std::string>()->value_name("DURATION")->default_value("5s"),
            "how often RunPod's pod list is read while a pod is booting")
        ("rescan-interval", po::value<std::string>()->value_name("DURATION")->default_value("10s"),
            "how often the sessions directory is rescanned besides inotify")
        ("max-pods", po::value<int>()->value_name("N"), "create no pod while this many pods run")
        ("max-cost-per-hour", po::value<double>()->value_name("USD"), "create no pod that could lift spend above this many USD per hour")
        ("workers", po::value<std::size_t>()->value_name("N")->default_value(16), "sessions acted on at once")
        ("runpod-api-key-file", po::value<std::string>()->value_name("FILE"),
            "file whose first line is the RunPod API key, read again when it changes (else RUNPOD_API_KEY)")
        ("runpod-base-url", po::value<std::string>()->value_name("URL"), "RunPod API base URL (default https://api.runpod.io)")
        ("runpod-ca-file", po::value<std::string>()->value_name("FILE"), "PEM file of CAs to trust for RunPod instead of the system's")
        ("runpod-request-timeout", po::value<std::string>()->value_name("DURATION")->default_value("60s"),
            "time limit of one RunPod request, connecting included")
        ("simulated-boot", po::value<std::string>()->value_name("DURATION")->default_value("3s"),
            "with --provider simulated: time a pod takes from create to RUNNING")
        ("simulated-state-file", po::value<std::string>()->value_name("FILE"),
            "with --provider simulated: JSON file (mode 0600) that keeps the simulated pods across "
            "restarts, saved at most once a second and at SIGTERM or SIGINT (default: "
            "DIR/.status/simulated-runpod.json with --sessions-dir; none in Kubernetes mode)")
        ("log-level", po::value<std::string>()->value_name("LEVEL")->default_value("info"), "trace, debug, info, warn or error");
    // clang-format on

    po::variables_map values;
    if (const auto stop = parse_command_line(
            {.command = "run", .usage = run_usage, .options = options}, args, values)) {
        return *stop;
    }
    run_options settings;
    try {
        log::setup(values["log-level"].as<std::string>());

        if (values.count("sessions-dir")) {
            settings.sessions_dir = values["sessions-dir"].as<std::string>();
        }
        read_kubernetes_options(values, settings);
        if (!settings.sessions_dir.empty() && !settings.kubeconfig.empty()) {
            throw std::invalid_argument(
                "pass either --sessions-dir (directory mode) or --kubeconfig (Kubernetes mode), "
                "not both");
        }
        if (!settings.sessions_dir.empty() && settings.leader_elect) {
            throw std::invalid_argument(
                "--leader-elect needs the Kubernetes API for its Lease; it does not work with "
                "--sessions-dir");
        }
        const auto provider = values["provider"].as<std::string>();
        if (provider == "runpod") {
            settings.provider = provider_kind::runpod;
        } else if (provider == "simulated") {
            settings.provider = provider_kind::simulated;
        } else {
            throw std::invalid_argument("--provider " + provider + " is not runpod or simulated");
        }
        settings.controller_id = values["controller-id"].as<std::string>();
        if (!crd::is_controller_id(settings.controller_id)) {
            throw std::invalid_argument(
                "--controller-id " + settings.controller_id +
                " must be 1..16 lowercase letters or digits, without dashes");
        }
        settings.listen = values["listen"].as<std::string>();
        if (!net::parse_listen_endpoint(settings.listen)) {
            throw std::invalid_argument("--listen " + log::quote(settings.listen) +
                                        " is not ADDR:PORT, [ADDR]:PORT or :PORT with a port of "
                                        "0..65535, such as :8080 or 127.0.0.1:8080");
        }
        settings.dry_run = values.count("dry-run") > 0;
        settings.default_idle_ttl = duration_option(values, "default-idle-ttl");
        settings.orphan_grace = duration_option(values, "orphan-grace");
        settings.create_settle = duration_option(values, "create-settle");
        settings.resync_interval = duration_option(values, "resync-interval");
        settings.rescan_interval = duration_option(values, "rescan-interval");
        settings.poll_interval = duration_option(values, "poll-interval");
        settings.simulated_boot = duration_option(values, "simulated-boot");
        if (values.count("simulated-state-file")) {
            if (settings.provider != provider_kind::simulated) {
                throw std::invalid_argument(
                    "--simulated-state-file needs --provider simulated: it keeps the simulated "
                    "RunPod's pods");
            }
            settings.simulated_state_file = values["simulated-state-file"].as<std::string>();
        }
        settings.runpod_request_timeout = duration_option(values, "runpod-request-timeout");
        if (settings.runpod_request_timeout < std::chrono::milliseconds{100}) {
            throw std::invalid_argument("--runpod-request-timeout must be at least 100ms");
        }
        if (settings.default_idle_ttl < std::chrono::seconds{1}) {
            throw std::invalid_argument("--default-idle-ttl must be at least 1s");
        }
        if (settings.resync_interval < std::chrono::milliseconds{100} ||
            settings.rescan_interval < std::chrono::milliseconds{100} ||
            settings.poll_interval < std::chrono::milliseconds{100}) {
            throw std::invalid_argument(
                "--resync-interval, --poll-interval and --rescan-interval must be at least 100ms");
        }
        if (values.count("max-pods")) {
            settings.max_pods = values["max-pods"].as<int>();
            if (*settings.max_pods < 0) {
                throw std::invalid_argument("--max-pods must not be negative");
            }
        }
        if (values.count("max-cost-per-hour")) {
            settings.max_cost_per_hour = values["max-cost-per-hour"].as<double>();
            if (!(*settings.max_cost_per_hour >= 0)) {
                throw std::invalid_argument(
                    "--max-cost-per-hour must be a non-negative number of USD");
            }
        }
        settings.workers = values["workers"].as<std::size_t>();
        if (settings.workers == 0 || settings.workers > 1024) {
            throw std::invalid_argument("--workers must be 1..1024");
        }
        if (values.count("runpod-api-key-file")) {
            settings.runpod_api_key_file = values["runpod-api-key-file"].as<std::string>();
        }
        if (values.count("runpod-base-url")) {
            settings.runpod_base_url = values["runpod-base-url"].as<std::string>();
            check_base_url(settings.runpod_base_url);
        }
        if (values.count("runpod-ca-file")) {
            settings.runpod_ca_file = values["runpod-ca-file"].as<std::string>();
        }
    } catch (const std::exception& error) {
        return usage_error("run", error.what());
    }

    try {
        return run_controller(settings);
    } catch (const std::exception& error) {
        std::cerr << "podsession run: " << error.what() << "\n";
        return exit_failure;
    }
}

}  // namespace podsession::controller::cli
