#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

// Logs are one line per event: a constant message, then key=value fields
// (`created pod session=apps/user-42 pod=7h9k2m4n6p`). Values with spaces, quotes
// or `=` are quoted. Secrets never reach a log call.
namespace podsession::controller::log {

// Parses a log level name as --log-level takes it: trace, debug, info, warn or
// error (and spdlog's other names, such as off). Returns nothing for an unknown name.
[[nodiscard]] std::optional<spdlog::level::level_enum> parse_level(std::string_view level);

// Routes spdlog to stderr with UTC timestamps. `level` is trace, debug, info,
// warn or error; an unknown name throws std::invalid_argument.
void setup(std::string_view level);

// Quotes a field value when it would otherwise not read back as one token.
[[nodiscard]] std::string quote(std::string_view value);

// Escapes control characters as quote does (\n, \t, \x1b) and leaves the rest
// as it is. It is for text on a terminal that need not read back as one token,
// such as a table cell, so that a file name cannot move the cursor or start a line.
[[nodiscard]] std::string escape_controls(std::string_view text);

// Lets through the first of a run of repeated events and then one per interval,
// reporting how many were held back, so that a failure repeating every second
// does not flood the log.
class repeat_limiter {
  public:
    explicit repeat_limiter(std::chrono::seconds interval) : interval_{interval} {}

    // Returns -1 when the event for `key` must not be logged now, else the number
    // of events held back since the last one logged.
    [[nodiscard]] long admit(const std::string& key, std::chrono::steady_clock::time_point now);

  private:
    struct entry {
        std::chrono::steady_clock::time_point last_logged;
        long held_back = 0;
    };

    std::chrono::seconds interval_;
    std::map<std::string, entry, std::less<>> entries_;
};

}  // namespace podsession::controller::log
