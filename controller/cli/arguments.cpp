#include "controller/cli/arguments.hpp"

#include <iostream>
#include <string>
#include <vector>

#include "controller/cli/commands.hpp"

namespace podsession::controller::cli {

namespace po = boost::program_options;

std::optional<int> parse_command_line(const command_line& line, std::span<char* const> args,
                                      po::variables_map& values) {
    po::options_description all;
    all.add(line.options);
    po::positional_options_description positional;
    if (line.operand != nullptr) {
        // --help leaves operands out because the usage line names them.
        if (line.operand_count == 1) {
            all.add_options()(line.operand, po::value<std::string>());
        } else {
            all.add_options()(line.operand, po::value<std::vector<std::string>>());
        }
        positional.add(line.operand, line.operand_count);
    }
    try {
        po::store(po::command_line_parser(std::vector<std::string>(args.begin(), args.end()))
                      .options(all)
                      .positional(positional)
                      .run(),
                  values);
        po::notify(values);
    } catch (const po::error& error) {
        return usage_error(line.command, error.what());
    }
    if (values.count("help") != 0) {
        std::cout << line.usage << '\n' << line.options << '\n';
        return exit_ok;
    }
    return std::nullopt;
}

int usage_error(std::string_view command, std::string_view message) {
    std::cerr << "podsession " << command << ": " << message << "\nRun `podsession " << command
              << " --help` for the options.\n";
    return exit_usage;
}

}  // namespace podsession::controller::cli
