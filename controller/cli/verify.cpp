#include <chrono>
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "auth/secret_file.hpp"
#include "auth/signed_url.hpp"
#include "controller/cli/arguments.hpp"
#include "controller/cli/commands.hpp"

namespace podsession::controller::cli {

namespace {

namespace po = boost::program_options;

constexpr std::string_view verify_usage =
    "usage: podsession verify URL (--secret-file FILE | --secret-env VAR)\n"
    "\n"
    "Checks a signed URL as a pod with `auth: signedUrl` does and prints one word:\n"
    "ok, malformed (no `exp` or `sig`, or `exp` not an integer), expired, or\n"
    "bad_signature. Exits 0 for ok, 1 for a rejected URL and 2 when the check could\n"
    "not run (invalid options, unreadable secret).\n";

[[nodiscard]] std::string_view explain(auth::signed_url_status status) {
    switch (status) {
        case auth::signed_url_status::ok:
            return "the URL is valid";
        case auth::signed_url_status::malformed:
            return "the URL is not a URL, has invalid percent-encoding, lacks `exp` or `sig`, "
                   "or its `exp` is not an integer";
        case auth::signed_url_status::expired:
            return "`exp` is before now";
        case auth::signed_url_status::bad_signature:
            return "`sig` does not match; the URL was changed after signing or signed "
                   "with another secret";
    }
    return "unknown result";
}

}  // namespace

int run_verify(std::span<char* const> args) {
    po::options_description visible{"options"};
    // clang-format off
    visible.add_options()
        ("help,h", "print this help and exit")
        ("secret-file", po::value<std::string>()->value_name("FILE"),
         "read the signing secret from FILE; one trailing newline is ignored")
        ("secret-env", po::value<std::string>()->value_name("VAR"),
         "read the signing secret from environment variable VAR")
        ("now", po::value<std::int64_t>()->value_name("UNIX_SECONDS"),
         "check as if the clock read this Unix time in seconds");
    // clang-format on
    po::variables_map values;
    if (const auto stop = parse_command_line(
            {.command = "verify", .usage = verify_usage, .options = visible, .operand = "url"},
            args, values)) {
        return *stop;
    }
    if (values.count("url") == 0) {
        return usage_error("verify", "missing URL");
    }

    // Read the secret.
    auth::secret_location location;
    if (values.count("secret-file") != 0) {
        location.file = values["secret-file"].as<std::string>();
    }
    if (values.count("secret-env") != 0) {
        location.env_var = values["secret-env"].as<std::string>();
    }
    const auto secret = auth::read_secret(location);
    if (!secret) {
        // Passing neither flag or both is a usage error. A secret that cannot
        // be read is not, so it keeps its message without the --help pointer.
        if (location.file.has_value() == location.env_var.has_value()) {
            return usage_error("verify", secret.error().message);
        }
        std::cerr << "podsession verify: " << secret.error().message << '\n';
        return exit_usage;
    }
    if (location.file) {
        if (const auto warning = auth::secret_file_warning(*location.file)) {
            std::cerr << "podsession verify: warning: " << *warning << '\n';
        }
    }

    // Check the URL.
    const auto now =
        values.count("now") != 0
            ? std::chrono::sys_seconds{std::chrono::seconds{values["now"].as<std::int64_t>()}}
            : std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    const auto status = auth::verify_url(values["url"].as<std::string>(), *secret, now);
    std::cout << auth::to_string(status) << '\n';
    if (status != auth::signed_url_status::ok) {
        std::cerr << "podsession verify: URL rejected: " << explain(status) << '\n';
        return exit_failure;
    }
    return exit_ok;
}

}  // namespace podsession::controller::cli
