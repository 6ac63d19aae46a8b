#include <iostream>

#include "controller/cli/commands.hpp"

namespace podsession::controller::cli {

int run_version(std::span<char* const> /*args*/) {
    std::cout << "podsession " << PODSESSION_VERSION << '\n';
    return exit_ok;
}

}  // namespace podsession::controller::cli
