#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include <boost/program_options.hpp>

#include "controller/cli/arguments.hpp"
#include "controller/cli/commands.hpp"
#include "controller/files.hpp"
#include "controller/session_files.hpp"

namespace podsession::controller::cli {
namespace {

namespace fs = std::filesystem;
namespace po = boost::program_options;

bool is_not_found(const std::error_code& error) {
    return error == std::errc::no_such_file_or_directory || error == std::errc::not_a_directory;
}

// Expands folders into the session files directory mode would read. Every
// check takes an error code: a symbolic link loop or an unreadable folder is
// reported with its cause and sets `failed`, instead of ending the command.
std::vector<fs::path> expand(const std::vector<std::string>& arguments, bool& failed) {
    std::vector<fs::path> files;
    for (const auto& argument : arguments) {
        const fs::path path{argument};
        std::error_code error;
        const auto type = fs::status(path, error);
        if (error) {
            std::cerr << "podsession validate: " << argument << ": "
                      << (is_not_found(error) ? "file not found" : "cannot read: " + error.message())
                      << "\n";
            failed = true;
            continue;
        }
        if (!fs::is_directory(type)) {
            files.push_back(path);
            continue;
        }
        std::vector<fs::path> found;
        for (fs::directory_iterator it{path, error}, end; !error && it != end;
             it.increment(error)) {
            if (!is_session_file_name(it->path())) {
                continue;
            }
            std::error_code entry_error;
            if (it->is_regular_file(entry_error)) {
                found.push_back(it->path());
            } else if (entry_error && !is_not_found(entry_error)) {
                // Directory mode skips such a file. A link that points
                // nowhere is skipped without a message, as directory mode does.
                std::cerr << "podsession validate: " << it->path().string()
                          << ": cannot read: " << entry_error.message()
                          << "; directory mode skips it\n";
                failed = true;
            }
        }
        if (error) {
            std::cerr << "podsession validate: " << argument
                      << ": cannot list the folder: " << error.message() << "\n";
            failed = true;
        }
        std::ranges::sort(found);
        files.insert(files.end(), found.begin(), found.end());
    }
    return files;
}

}  // namespace

constexpr std::string_view validate_usage =
    "usage: podsession validate FILE|DIR...\n"
    "\n"
    "Checks PodSession YAML offline, as directory mode reads it. Prints every\n"
    "invalid field with its file and line, and exits 1 if any object is invalid.\n";

int run_validate(std::span<char* const> args) {
    po::options_description options{"options"};
    options.add_options()("help,h", "print this help");
    po::variables_map values;
    if (const auto stop = parse_command_line({.command = "validate",
                                              .usage = validate_usage,
                                              .options = options,
                                              .operand = "file",
                                              .operand_count = -1},
                                             args, values)) {
        return *stop;
    }
    if (!values.count("file")) {
        return usage_error("validate", "name at least one file or folder");
    }

    bool failed = false;
    const auto files = expand(values["file"].as<std::vector<std::string>>(), failed);
    std::map<std::string, std::string> declared_at;
    for (const auto& file : files) {
        const auto text = read_file(file);
        if (!text) {
            std::cerr << file.string() << ": cannot read: " << describe_read_error(text.error())
                      << "\n";
            failed = true;
            continue;
        }
        const auto decoded = decode_session_file(*text);
        if (decoded.entries.empty()) {
            std::cerr << file.string() << ": no PodSession in the file\n";
            failed = true;
        }
        for (const auto& entry : decoded.entries) {
            const std::string where = file.string() + ":" + std::to_string(entry.line);
            for (const auto& error : entry.result.errors) {
                std::cerr << format_file_error(file, entry, error) << "\n";
                failed = true;
            }
            if (entry.key.empty()) {
                continue;
            }
            const auto [previous, inserted] = declared_at.emplace(entry.key, where);
            if (!inserted) {
                std::cerr << where << ": PodSession " << entry.key << ": already declared at "
                          << previous->second << "; each session may be declared once\n";
                failed = true;
            } else if (entry.result.errors.empty()) {
                std::cout << where << ": PodSession " << entry.key << " is valid\n";
            }
        }
    }
    return failed ? exit_failure : exit_ok;
}

}  // namespace podsession::controller::cli
