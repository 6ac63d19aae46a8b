#include <sys/stat.h>
#include <filesystem>
#include <iostream>
#include <system_error>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/program_options.hpp>

#include "controller/cli/arguments.hpp"
#include "controller/cli/commands.hpp"
#include "controller/files.hpp"
#include "controller/kubernetes/api_client.hpp"
#include "controller/kubernetes/objects.hpp"
#include "controller/session_files.hpp"
#include "controller/touch_file.hpp"
#include "crd/status_codec.hpp"
#include "crd/validate.hpp"

namespace podsession::controller::cli {
namespace {

// Warns when the session has ended: a touch of an Expired or Failed session
// succeeds but does not bring its pod back, which a caller would not guess.
void warn_if_ended(const std::string& key, crd::session_phase phase) {
    if (phase != crd::session_phase::expired && phase != crd::session_phase::failed) {
        return;
    }
    std::cerr << "podsession touch: warning: PodSession " << key << " is " << crd::to_string(phase)
              << ", and a touch does not bring it back; delete the session and create it again "
                 "for a new pod\n";
}

namespace fs = std::filesystem;
namespace po = boost::program_options;

// Every file that declares the session, in the order the controller reads
// them. Which one the controller owns depends on what it saw first, which this
// command cannot know, so a touch goes to all of them. Files that cannot be
// read or do not parse completely are added to `unreadable`, because they may
// declare it. A symbolic link loop is one of those. A folder that cannot be
// listed sets `list_error`.
std::vector<fs::path> find_session_files(const fs::path& directory, const std::string& key,
                                         std::vector<fs::path>& unreadable,
                                         std::error_code& list_error) {
    std::vector<fs::path> files;
    for (fs::directory_iterator it{directory, list_error}, end; !list_error && it != end;
         it.increment(list_error)) {
        if (!is_session_file_name(it->path())) {
            continue;
        }
        std::error_code type_error;
        if (it->is_regular_file(type_error)) {
            files.push_back(it->path());
        } else if (type_error && type_error != std::errc::no_such_file_or_directory) {
            unreadable.push_back(it->path());
        }
    }
    if (list_error) {
        return {};
    }
    std::ranges::sort(files);
    std::vector<fs::path> declaring;
    for (const auto& file : files) {
        const auto text = read_file(file);
        if (!text) {
            unreadable.push_back(file);
            continue;
        }
        const auto decoded = decode_session_file(*text);
        for (const auto& entry : decoded.entries) {
            if (entry.key == key) {
                declaring.push_back(file);
                break;
            }
        }
        if (decoded.has_unparsable) {
            unreadable.push_back(file);
        }
    }
    return declaring;
}

// Sets the annotation with a merge patch, the same write as
// `kubectl annotate --overwrite`.
int touch_in_cluster(const fs::path& kubeconfig, const std::string& context,
                     std::optional<std::string> namespace_name, const std::string& name,
                     crd::timestamp when) {
    namespace asio = boost::asio;
    namespace kube = kubernetes;
    kube::connection_config config;
    try {
        config = kube::load_kubeconfig(kubeconfig, context);
    } catch (const kube::config_error& error) {
        std::cerr << "podsession touch: " << error.what() << "\n";
        return exit_failure;
    }
    const auto ns = namespace_name.value_or(config.namespace_name);
    const std::string key = ns + "/" + name;

    asio::io_context io{1};
    kube::api_client::options settings;
    settings.request_timeout = std::chrono::seconds{15};
    settings.user_agent = "podsession-touch/" PODSESSION_VERSION;
    std::optional<kube::api_result<boost::json::value>> outcome;
    try {
        kube::api_client client{io.get_executor(), config, settings};
        const boost::json::value patch{
            {"metadata", {{"annotations", {{crd::touch_annotation, crd::format_rfc3339(when)}}}}}};
        asio::co_spawn(
            io,
            client.send({net::http::verb::patch,
                         kube::podsession_path(ns, name) +
                             "?fieldManager=" + std::string{kube::field_manager},
                         patch, kube::merge_patch_type}),
            [&](std::exception_ptr failure, kube::api_result<boost::json::value> result) {
                if (!failure) {
                    outcome = std::move(result);
                }
            });
        io.run();
    } catch (const std::exception& error) {
        std::cerr << "podsession touch: " << error.what() << "\n";
        return exit_failure;
    }
    if (!outcome) {
        std::cerr << "podsession touch: the request to the Kubernetes API did not finish\n";
        return exit_failure;
    }
    if (!*outcome) {
        const auto& error = outcome->error();
        if (error.is(kube::errc::not_found)) {
            std::cerr << "podsession touch: PodSession " << key
                      << " not found; check the name and -n NAMESPACE\n";
        } else {
            std::cerr << "podsession touch: patching PodSession " << key << " failed ("
                      << config.source << "): " << error.describe() << "\n";
        }
        return exit_failure;
    }
    std::cout << "touched PodSession " << key << " at " << crd::format_rfc3339(when) << "\n";
    if (const auto* object = outcome->value().if_object()) {
        if (const auto* status = object->if_contains("status"); status && status->is_object()) {
            warn_if_ended(key, crd::decode_status(*status).phase);
        }
    }
    return exit_ok;
}

}  // namespace

// Rewrites one session file with the touch, keeping its mode.
int touch_file_on_disk(const fs::path& file, const std::string& key,
                       const std::string& namespace_name, const std::string& name,
                       crd::timestamp when) {
    const auto text = read_file(file);
    if (!text) {
        std::cerr << "podsession touch: cannot read " << file.string() << ": "
                  << text.error().message() << "\n";
        return exit_failure;
    }
    const auto edit = touch_session_text(*text, namespace_name, name, when);
    if (!edit && edit.error() == boost::system::errc::invalid_argument) {
        std::cerr << "podsession touch: " << file.string() << ": PodSession " << key
                  << ": metadata.annotations cannot be edited (it is not a mapping); fix the file "
                     "by hand\n";
        return exit_failure;
    }
    if (!edit) {
        std::cerr << "podsession touch: PodSession " << key << " not found in " << file.string()
                  << "\n";
        return exit_failure;
    }
    struct ::stat info {};
    const mode_t mode = ::stat(file.c_str(), &info) == 0 ? (info.st_mode & 07777) : 0644;
    if (const auto write_error = write_file_atomically(file, edit->text, mode)) {
        std::cerr << "podsession touch: cannot write " << file.string() << ": "
                  << write_error.message() << "\n";
        return exit_failure;
    }
    if (edit->reformatted) {
        std::cerr << "podsession touch: " << file.string()
                  << ": the session's metadata uses flow style, so its document was written anew "
                     "and lost its comments\n";
    }
    std::cout << "touched PodSession " << key << " in " << file.string() << " at "
              << crd::format_rfc3339(when) << "\n";
    return exit_ok;
}

constexpr std::string_view touch_usage =
    "usage: podsession touch NAME [-n NAMESPACE] (--sessions-dir DIR | --kubeconfig FILE)\n"
    "                        [--time RFC3339]\n"
    "\n"
    "Marks a session as in use by setting its podsession.io/last-touched annotation:\n"
    "in the file that declares it, or on the PodSession with a merge patch.\n";

int run_touch(std::span<char* const> args) {
    po::options_description options{"options"};
    // clang-format off
    options.add_options()
        ("help,h", "print this help")
        ("namespace,n", po::value<std::string>()->value_name("NAMESPACE"),
            "namespace of the session (default: the kubeconfig context's, else default)")
        ("sessions-dir", po::value<std::string>()->value_name("DIR"), "the directory the controller reads")
        ("kubeconfig", po::value<std::string>()->value_name("FILE"), "the kubeconfig FILE of the cluster that holds the PodSession")
        ("context", po::value<std::string>()->value_name("NAME"), "the kubeconfig context (default: its current-context)")
        ("time", po::value<std::string>()->value_name("RFC3339"), "the touch time, RFC 3339 (default: now)");
    // clang-format on
    po::variables_map values;
    if (const auto stop = parse_command_line(
            {.command = "touch", .usage = touch_usage, .options = options, .operand = "name"}, args,
            values)) {
        return *stop;
    }
    if (!values.count("name")) {
        return usage_error("touch", "name the session: podsession touch NAME");
    }
    if (values.count("sessions-dir") && values.count("kubeconfig")) {
        return usage_error("touch", "pass either --sessions-dir or --kubeconfig, not both");
    }
    if (!values.count("sessions-dir") && !values.count("kubeconfig")) {
        return usage_error("touch", "pass --sessions-dir DIR or --kubeconfig FILE");
    }
    if (values.count("context") && !values.count("kubeconfig")) {
        return usage_error("touch", "--context needs --kubeconfig: it names a kubeconfig context");
    }
    const auto name = values["name"].as<std::string>();
    std::optional<std::string> given_namespace;
    if (values.count("namespace")) {
        given_namespace = values["namespace"].as<std::string>();
    }
    if (const auto stop = check_session_names("touch", name, given_namespace)) {
        return *stop;
    }

    auto when = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
    if (values.count("time")) {
        const auto parsed = crd::parse_rfc3339(values["time"].as<std::string>());
        if (!parsed) {
            return usage_error("touch", "--time " + values["time"].as<std::string>() +
                                            " is not an RFC 3339 time such as "
                                            "2026-12-04T19:37:02Z");
        }
        when = *parsed;
    }

    if (values.count("kubeconfig")) {
        return touch_in_cluster(values["kubeconfig"].as<std::string>(),
                                values.count("context") ? values["context"].as<std::string>() : "",
                                given_namespace, name, when);
    }
    const auto namespace_name = given_namespace.value_or("default");
    const fs::path directory{values["sessions-dir"].as<std::string>()};
    const std::string key = namespace_name + "/" + name;

    std::error_code error;
    if (!fs::is_directory(directory, error)) {
        std::cerr << "podsession touch: --sessions-dir " << directory.string()
                  << " is not a directory; pass the folder of PodSession files that "
                     "`podsession run --sessions-dir` reads\n";
        return exit_failure;
    }
    std::vector<fs::path> unreadable;
    const auto files = find_session_files(directory, key, unreadable, error);
    if (error) {
        std::cerr << "podsession touch: cannot list --sessions-dir " << directory.string() << ": "
                  << error.message() << "\n";
        return exit_failure;
    }
    if (files.empty() && !unreadable.empty()) {
        std::cerr << "podsession touch: PodSession " << key << " not found in "
                  << directory.string() << ", but these files cannot be read or do not parse "
                  << "and may declare it; check them with podsession validate:";
        for (const auto& path : unreadable) {
            std::cerr << " " << path.string();
        }
        std::cerr << "\n";
        return exit_failure;
    }
    if (files.empty()) {
        std::cerr << "podsession touch: PodSession " << key << " not found in "
                  << directory.string() << "; check the name and -n NAMESPACE\n";
        return exit_failure;
    }
    if (files.size() > 1) {
        std::cerr << "podsession touch: PodSession " << key << " is declared in " << files.size()
                  << " files; the controller follows the one that declared it first and reports "
                     "the others. Touching all of them; delete the duplicates\n";
    }
    int status = exit_ok;
    for (const auto& file : files) {
        if (touch_file_on_disk(file, key, namespace_name, name, when) != exit_ok) {
            status = exit_failure;
        }
    }
    // The status file is the controller's record; without one the session is new.
    const auto status_path = directory / status_folder / namespace_name / (name + ".yaml");
    if (const auto text = read_file(status_path)) {
        if (const auto recorded = crd::decode_status_file(*text)) {
            warn_if_ended(key, recorded->status.phase);
        }
    }
    return status;
}

}  // namespace podsession::controller::cli
