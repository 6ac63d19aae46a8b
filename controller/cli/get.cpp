// `podsession get`: the sessions of a sessions directory as the controller
// last recorded them, printed as a table in the manner of `kubectl get`.

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <boost/program_options.hpp>

#include "controller/cli/arguments.hpp"
#include "controller/cli/commands.hpp"
#include "controller/cli/table.hpp"
#include "controller/duration.hpp"
#include "controller/files.hpp"
#include "controller/log.hpp"
#include "controller/session_files.hpp"
#include "crd/status_codec.hpp"

namespace podsession::controller::cli {

namespace {

namespace po = boost::program_options;
namespace fs = std::filesystem;

constexpr std::string_view get_usage =
    "usage: podsession get [NAME] --sessions-dir DIR [-n NAMESPACE | -A]\n"
    "\n"
    "Lists the sessions of a sessions directory as the controller last recorded them\n"
    "in DIR/.status, like `kubectl get psess`: phase, GPU, URL, idle TTL and the time\n"
    "left before the idle deadline. It reads files only, so it works whether the\n"
    "controller runs or not; a session file the controller has not read yet is not\n"
    "listed.\n";

// A status file that was read, with the namespace folder it was found in.
struct recorded_session {
    std::string namespace_name;
    std::string name;
    crd::status_file file;
};

// Returns `path` for a message on a terminal, with control characters escaped,
// because a file name may contain them.
std::string shown(const fs::path& path) {
    return log::escape_controls(path.string());
}

bool is_not_found(const std::error_code& error) {
    return error == std::errc::no_such_file_or_directory || error == std::errc::not_a_directory;
}

// Warns of a symbolic link under .status. The controller writes plain folders
// and files there, so a link was made by someone else and may point anywhere
// (/etc/passwd). It is skipped, and the warning does not fail the command.
void warn_symlink(const fs::path& path) {
    std::cerr << "podsession get: warning: " << shown(path)
              << ": a symbolic link, which the controller never writes; it is skipped\n";
}

// Reports a folder or file that cannot be read, and fails the command.
void report(const fs::path& path, const std::string& problem, bool& failed) {
    std::cerr << "podsession get: " << shown(path) << ": " << problem << '\n';
    failed = true;
}

// Returns the namespace folders to read: the one of `namespace_name`, or every one.
// A missing .status or namespace folder means no session was recorded there.
std::vector<fs::path> namespace_folders(const fs::path& root,
                                        const std::optional<std::string>& namespace_name,
                                        bool& failed) {
    std::error_code error;
    const auto root_type = fs::status(root, error);
    if (is_not_found(error)) {
        return {};
    }
    if (error) {
        report(root, "cannot read: " + error.message(), failed);
        return {};
    }
    if (!fs::is_directory(root_type)) {
        report(root,
               "not a directory; the controller keeps its status files in this folder, so move "
               "the file away",
               failed);
        return {};
    }
    std::vector<fs::path> folders;
    if (namespace_name) {
        const auto folder = root / *namespace_name;
        const auto type = fs::symlink_status(folder, error);
        if (is_not_found(error)) {
            return {};
        }
        if (error) {
            report(folder, "cannot read: " + error.message(), failed);
        } else if (fs::is_symlink(type)) {
            warn_symlink(folder);
        } else if (!fs::is_directory(type)) {
            report(folder, "not a directory; the controller keeps a namespace's status files in it",
                   failed);
        } else {
            folders.push_back(folder);
        }
        return folders;
    }
    for (fs::directory_iterator it{root, error}, end; !error && it != end; it.increment(error)) {
        std::error_code type_error;
        const auto type = it->symlink_status(type_error);
        if (type_error) {
            if (!is_not_found(type_error)) {
                report(it->path(), "cannot read: " + type_error.message(), failed);
            }
        } else if (fs::is_symlink(type)) {
            warn_symlink(it->path());
        } else if (fs::is_directory(type)) {
            folders.push_back(it->path());
        }
        // Other files, such as the simulator's state file, are not namespaces.
    }
    if (error) {
        report(root, "cannot list: " + error.message(), failed);
    }
    return folders;
}

// Reads every `.status/NAMESPACE/NAME.yaml` of `namespace_name`, or of every
// namespace when it is unset. Folders and files that cannot be read or decoded
// are reported on stderr and skipped, and `failed` is set.
std::vector<recorded_session> read_status_files(const fs::path& root,
                                                const std::optional<std::string>& namespace_name,
                                                bool& failed) {
    std::vector<recorded_session> sessions;
    for (const auto& folder : namespace_folders(root, namespace_name, failed)) {
        std::error_code error;
        for (fs::directory_iterator it{folder, error}, end; !error && it != end;
             it.increment(error)) {
            const auto& path = it->path();
            if (path.extension() != ".yaml" || path.filename().string().starts_with('.')) {
                continue;
            }
            std::error_code type_error;
            const auto type = it->symlink_status(type_error);
            if (type_error) {
                if (!is_not_found(type_error)) {
                    report(path, "cannot read: " + type_error.message(), failed);
                }
                continue;
            }
            if (fs::is_symlink(type)) {
                warn_symlink(path);
                continue;
            }
            const auto text = read_file(path);
            if (!text) {
                report(path, "cannot read: " + describe_read_error(text.error()), failed);
                continue;
            }
            auto decoded = crd::decode_status_file(*text);
            if (!decoded) {
                report(path, crd::describe_status_file_error(decoded.error()) + "; it is skipped",
                       failed);
                continue;
            }
            sessions.push_back(
                {folder.filename().string(), path.stem().string(), std::move(*decoded)});
        }
        if (error) {
            report(folder, "cannot list: " + error.message(), failed);
        }
    }
    std::ranges::sort(sessions, [](const auto& a, const auto& b) {
        return std::tie(a.namespace_name, a.name) < std::tie(b.namespace_name, b.name);
    });
    return sessions;
}

std::string or_none(std::string text) {
    return text.empty() ? std::string{"<none>"} : text;
}

std::vector<std::string> row_of(const recorded_session& session, bool all_namespaces,
                                crd::timestamp now) {
    const auto& status = session.file.status;
    std::vector<std::string> row;
    if (all_namespaces) {
        row.push_back(session.namespace_name);
    }
    row.push_back(session.name);
    row.emplace_back(crd::to_string(status.phase));
    row.push_back(or_none(status.gpu_type));
    row.push_back(or_none(status.endpoints.empty() ? std::string{} : status.endpoints.front().url));
    // An unset TTL is the controller's --default-idle-ttl, which the files do not record.
    std::string idle_ttl = "<default>";
    if (session.file.spec && session.file.spec->idle_ttl) {
        idle_ttl = std::to_string(session.file.spec->idle_ttl->count());
    }
    row.push_back(idle_ttl);
    // A deadline that has passed shows as 0s: the controller is expiring the
    // session, or is not running to do so.
    std::string expires_in = "<none>";
    if (status.expires_at) {
        expires_in = format_human_duration(*status.expires_at - now);
    }
    row.push_back(expires_in);
    return row;
}

}  // namespace

int run_get(std::span<char* const> args) {
    po::options_description options{"options"};
    // clang-format off
    options.add_options()
        ("help,h", "print this help")
        ("sessions-dir", po::value<std::string>()->value_name("DIR"), "the directory the controller reads")
        ("namespace,n", po::value<std::string>()->value_name("NAMESPACE"),
            "list the sessions of this namespace (default: default)")
        ("all-namespaces,A", "list the sessions of every namespace");
    // clang-format on
    po::variables_map values;
    if (const auto stop = parse_command_line(
            {.command = "get", .usage = get_usage, .options = options, .operand = "name"}, args,
            values)) {
        return *stop;
    }
    if (values.count("sessions-dir") == 0) {
        return usage_error("get", "pass --sessions-dir DIR, the directory the controller reads");
    }
    const bool all_namespaces = values.count("all-namespaces") != 0;
    if (all_namespaces && values.count("namespace") != 0) {
        return usage_error("get", "pass either --namespace or --all-namespaces, not both");
    }
    std::optional<std::string> namespace_name;
    if (!all_namespaces) {
        namespace_name =
            values.count("namespace") != 0 ? values["namespace"].as<std::string>() : "default";
    }
    std::optional<std::string> name;
    if (values.count("name") != 0) {
        name = values["name"].as<std::string>();
    }
    // A slash or a leading dot could lead outside the namespace's folder or to
    // the controller's temporary files; neither is in a valid name.
    if (const auto stop = check_session_names("get", name, namespace_name)) {
        return *stop;
    }

    const fs::path sessions_dir = values["sessions-dir"].as<std::string>();
    std::error_code error;
    if (!fs::is_directory(sessions_dir, error)) {
        std::string problem = "not a directory";
        if (is_not_found(error)) {
            problem = "no such directory";
        } else if (error) {
            problem = "cannot read: " + error.message();
        }
        std::cerr << "podsession get: --sessions-dir " << shown(sessions_dir) << ": " << problem
                  << "; pass the folder of PodSession files that `podsession run "
                     "--sessions-dir` reads\n";
        return exit_failure;
    }
    bool failed = false;
    auto sessions = read_status_files(sessions_dir / status_folder, namespace_name, failed);
    if (name) {
        std::erase_if(sessions, [&](const auto& session) { return session.name != *name; });
        if (sessions.empty() && !failed) {
            std::cerr << "podsession get: PodSession \"" << *name << "\" not found in "
                      << (all_namespaces ? "any namespace" : "namespace " + *namespace_name)
                      << " of " << shown(sessions_dir / status_folder)
                      << "; the controller records a session once it has read its file\n";
            return exit_failure;
        }
    }
    if (sessions.empty()) {
        std::cerr << "No sessions found"
                  << (all_namespaces ? std::string{} : " in " + *namespace_name + " namespace")
                  << ".\n";
        return failed ? exit_failure : exit_ok;
    }

    const auto now =
        std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> header;
    if (all_namespaces) {
        header.emplace_back("NAMESPACE");
    }
    for (const char* column : {"NAME", "PHASE", "GPU", "URL", "IDLE-TTL", "EXPIRES-IN"}) {
        header.emplace_back(column);
    }
    rows.push_back(std::move(header));
    for (const auto& session : sessions) {
        rows.push_back(row_of(session, all_namespaces, now));
    }
    print_table(std::cout, rows);
    return failed ? exit_failure : exit_ok;
}

}  // namespace podsession::controller::cli
