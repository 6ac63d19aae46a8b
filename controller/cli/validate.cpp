#include <filesystem>
#include <iostream>
#include <map>
#include <string>
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

// Expands folders into the session files directory mode would read.
std::vector<fs::path> expand(const std::vector<std::string>& arguments, bool& missing) {
    std::vector<fs::path> files;
    for (const auto& argument : arguments) {
        const fs::path path{argument};
        std::error_code error;
        if (fs::is_directory(path, error)) {
            std::vector<fs::path> found;
            for (const auto& entry : fs::directory_iterator{path, error}) {
                if (is_session_file_name(entry.path()) && entry.is_regular_file()) {
                    found.push_back(entry.path());
                }
            }
            std::ranges::sort(found);
            files.insert(files.end(), found.begin(), found.end());
        } else if (fs::exists(path, error)) {
            files.push_back(path);
        } else {
            std::cerr << "podsession validate: " << argument << ": file not found\n";
            missing = true;
        }
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
