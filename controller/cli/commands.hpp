#pragma once

#include <span>
#include <string_view>

namespace podsession::controller::cli {

// A subcommand of `podsession`. `args` holds the arguments after the
// subcommand's name; the returned value is the process exit status.
using command_function = int (*)(std::span<char* const> args);

struct command {
    std::string_view name;
    std::string_view synopsis;
    command_function run;
};

// Exit statuses shared by every subcommand.
inline constexpr int exit_ok = 0;
// The command ran and found a problem: an invalid file, a failed verification.
inline constexpr int exit_failure = 1;
// The command line itself is wrong.
inline constexpr int exit_usage = 2;

int run_run(std::span<char* const> args);
int run_touch(std::span<char* const> args);
int run_get(std::span<char* const> args);
int run_version(std::span<char* const> args);
int run_validate(std::span<char* const> args);
int run_sign(std::span<char* const> args);
int run_verify(std::span<char* const> args);
int run_simulate_runpod(std::span<char* const> args);

}  // namespace podsession::controller::cli
