#include <iostream>

#include <boost/program_options.hpp>

#include "controller/cli/arguments.hpp"
#include "controller/cli/commands.hpp"

namespace podsession::controller::cli {

constexpr std::string_view version_usage =
    "usage: podsession version\n"
    "\n"
    "Prints the version of podsession.\n";

int run_version(std::span<char* const> args) {
    // Parsed like every command, so that `version --bogus` is a usage error
    // and not silently ignored.
    boost::program_options::options_description options{"options"};
    options.add_options()("help,h", "print this help");
    boost::program_options::variables_map values;
    if (const auto stop = parse_command_line(
            {.command = "version", .usage = version_usage, .options = options}, args, values)) {
        return *stop;
    }
    std::cout << "podsession " << PODSESSION_VERSION << '\n';
    return exit_ok;
}

}  // namespace podsession::controller::cli
