#include <array>
#include <iostream>
#include <span>
#include <string_view>

#include "controller/cli/commands.hpp"

namespace cli = podsession::controller::cli;

namespace {

constexpr std::array commands{
    cli::command{"run", "run the controller", cli::run_run},
    cli::command{"touch", "mark a session as in use, in its file or through the API",
                 cli::run_touch},
    cli::command{"get", "list the sessions of a sessions directory and their pods",
                 cli::run_get},
    cli::command{"validate", "check PodSession YAML files offline", cli::run_validate},
    cli::command{"sign", "sign a URL for a pod with auth: signedUrl", cli::run_sign},
    cli::command{"verify", "check a signed URL as the pod does", cli::run_verify},
    cli::command{"simulate-runpod", "serve a simulated RunPod API", cli::run_simulate_runpod},
    cli::command{"version", "print the version", cli::run_version},
};

void print_usage(std::ostream& out) {
    out << "usage: podsession <command> [options]\n\ncommands:\n";
    for (const auto& command : commands) {
        out << "  " << command.name;
        for (std::size_t pad = command.name.size(); pad < 18; ++pad) {
            out << ' ';
        }
        out << command.synopsis << '\n';
    }
    out << "\nRun `podsession <command> --help` for the options of a command.\n";
}

}  // namespace

int main(int argc, char** argv) {
    const std::span<char* const> args{argv, static_cast<std::size_t>(argc)};
    if (args.size() < 2) {
        print_usage(std::cerr);
        return cli::exit_usage;
    }

    const std::string_view name = args[1];
    if (name == "--help" || name == "-h" || name == "help") {
        print_usage(std::cout);
        return cli::exit_ok;
    }
    if (name == "--version") {
        return cli::run_version(args.subspan(2));
    }
    for (const auto& command : commands) {
        if (command.name == name) {
            return command.run(args.subspan(2));
        }
    }
    std::cerr << "podsession: unknown command \"" << name << "\"\n\n";
    print_usage(std::cerr);
    return cli::exit_usage;
}
