#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <boost/program_options.hpp>

namespace podsession::controller::cli {

// The command-line grammar of one subcommand.
struct command_line {
    // The subcommand's name, as in `podsession NAME`.
    std::string_view command;
    // Synopsis and description that --help prints above the options.
    std::string_view usage;
    const boost::program_options::options_description& options;
    // Name of the operands after the options (a session name, files), or null
    // when the command takes none, and how many it takes: -1 for any number.
    const char* operand = nullptr;
    int operand_count = 1;
};

// Parses `args`, the words after `podsession COMMAND`, into `values`. Returns
// the exit status when the command must stop here: exit_ok after printing the
// help for --help, exit_usage after printing a usage error. Every option is
// parsed and checked before --help is looked at, so `podsession run FLAGS
// --help` fails on a misspelt flag. Options must be spelt in full, and an
// option or operand given an empty string is a usage error, never the same
// as leaving it out.
std::optional<int> parse_command_line(const command_line& line, std::span<char* const> args,
                                      boost::program_options::variables_map& values);

// Prints a usage error as `podsession COMMAND: MESSAGE` with a pointer to
// --help, and returns exit_usage.
int usage_error(std::string_view command, std::string_view message);

// Checks a session name and namespace given on the command line as the
// controller checks metadata.name and metadata.namespace, so that neither can
// lead outside a folder or into a request path. Prints a usage error and
// returns exit_usage for an invalid one.
std::optional<int> check_session_names(std::string_view command,
                                       const std::optional<std::string>& name,
                                       const std::optional<std::string>& namespace_name);

}  // namespace podsession::controller::cli
