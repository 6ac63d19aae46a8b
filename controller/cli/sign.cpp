#include <chrono>
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "auth/error.hpp"
#include "auth/secret_file.hpp"
#include "auth/signed_url.hpp"
#include "controller/cli/arguments.hpp"
#include "controller/cli/commands.hpp"
#include "controller/duration.hpp"

namespace podsession::controller::cli {

namespace {

namespace po = boost::program_options;

constexpr std::string_view sign_usage =
    "usage: podsession sign URL (--secret-file FILE | --secret-env VAR) [--expires-in DURATION]\n"
    "\n"
    "Prints URL signed for a pod with `auth: signedUrl`: the query gains `exp` and `sig`,\n"
    "and the pod accepts the URL until `exp`. URL is absolute (https://host/path?query)\n"
    "or a path starting with '/'; write the path percent-encoded as a client sends it\n"
    "(my%20clip.mp4), because it is signed as written. The secret is the pod's\n"
    "ATLAS_SIGNING_SECRET; it is never taken from the command line, where other users\n"
    "could read it.\n";

struct sign_options {
    std::string url;
    auth::secret_location secret;
    std::chrono::seconds expires_in{3600};
    std::optional<std::chrono::sys_seconds> now;
};

// Reads `--expires-in`: a duration with units as every other duration flag
// takes, or plain seconds as earlier versions did; either may be negative.
std::optional<std::chrono::seconds> parse_expires_in(std::string_view text) {
    const bool negative = text.starts_with('-');
    if (negative) {
        text.remove_prefix(1);
    }
    std::optional<std::chrono::seconds> magnitude;
    if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos) {
        if (text.size() > 12) {
            return std::nullopt;
        }
        magnitude = std::chrono::seconds{std::stoll(std::string{text})};
    } else if (const auto parsed = parse_duration(text);
               parsed && *parsed % std::chrono::seconds{1} == std::chrono::milliseconds{0}) {
        magnitude = std::chrono::duration_cast<std::chrono::seconds>(*parsed);
    }
    if (!magnitude) {
        return std::nullopt;
    }
    return negative ? -*magnitude : *magnitude;
}

}  // namespace

int run_sign(std::span<char* const> args) {
    po::options_description visible{"options"};
    // clang-format off
    visible.add_options()
        ("help,h", "print this help and exit")
        ("secret-file", po::value<std::string>()->value_name("FILE"),
         "read the signing secret from FILE; one trailing newline is ignored")
        ("secret-env", po::value<std::string>()->value_name("VAR"),
         "read the signing secret from environment variable VAR")
        ("expires-in", po::value<std::string>()->value_name("DURATION")->default_value("1h"),
         "time from now until the URL expires, with a unit (90s, 15m, 1h) or in plain "
         "seconds; a negative value (--expires-in=-60s) makes a URL that is already expired")
        ("now", po::value<std::int64_t>()->value_name("UNIX_SECONDS"),
         "sign as if the clock read this Unix time in seconds, to reproduce a signature");
    // clang-format on
    po::variables_map values;
    if (const auto stop = parse_command_line(
            {.command = "sign", .usage = sign_usage, .options = visible, .operand = "url"}, args,
            values)) {
        return *stop;
    }
    if (values.count("url") == 0) {
        return usage_error("sign", "missing URL");
    }

    sign_options options;
    options.url = values["url"].as<std::string>();
    if (values.count("secret-file") != 0) {
        options.secret.file = values["secret-file"].as<std::string>();
    }
    if (values.count("secret-env") != 0) {
        options.secret.env_var = values["secret-env"].as<std::string>();
    }
    const auto expires_in = parse_expires_in(values["expires-in"].as<std::string>());
    if (!expires_in) {
        return usage_error("sign", "--expires-in " + values["expires-in"].as<std::string>() +
                                       ": not a duration; write whole seconds with a unit (90s, "
                                       "15m, 1h) or a plain number of seconds");
    }
    options.expires_in = *expires_in;
    if (values.count("now") != 0) {
        options.now =
            std::chrono::sys_seconds{std::chrono::seconds{values["now"].as<std::int64_t>()}};
    }

    // Read the secret.
    const auto secret = auth::read_secret(options.secret);
    if (!secret) {
        // Passing neither flag or both is a usage error. A secret that cannot
        // be read is not, so it keeps its message without the --help pointer.
        if (options.secret.file.has_value() == options.secret.env_var.has_value()) {
            return usage_error("sign", secret.error().message);
        }
        std::cerr << "podsession sign: " << secret.error().message << '\n';
        return exit_usage;
    }
    if (options.secret.file) {
        if (const auto warning = auth::secret_file_warning(*options.secret.file)) {
            std::cerr << "podsession sign: warning: " << *warning << '\n';
        }
    }

    // Compute the expiry and sign.
    const auto now = options.now.value_or(
        std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
    const auto expires_at = auth::expiry_after(now, options.expires_in);
    if (!expires_at) {
        return usage_error("sign", "--expires-in " + std::to_string(options.expires_in.count()) +
                                       "s: " + expires_at.error().message());
    }
    const auto signed_url = auth::sign_url(options.url, *secret, *expires_at);
    if (!signed_url) {
        if (signed_url.error() == auth::errc::crypto_failed) {
            std::cerr << "podsession sign: " << signed_url.error().message() << '\n';
            return exit_failure;
        }
        // What is left to fail is the URL given: read_secret rejects an empty
        // secret and expiry_after an expiry out of range.
        return usage_error("sign", signed_url.error().message());
    }

    std::cout << *signed_url << '\n';
    return exit_ok;
}

}  // namespace podsession::controller::cli
