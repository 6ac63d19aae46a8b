#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace podsession::controller {

// Parses a duration as Go and kubectl write them: one or more numbers with a
// unit each (`ms`, `s`, `m`, `h`), such as `15m`, `90s`, `1h30m` or `500ms`. A
// bare number is rejected: a flag value must carry its unit. Returns nothing on
// malformed text or overflow.
[[nodiscard]] std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// Formats with the largest units that divide it, as `parse_duration` reads it.
[[nodiscard]] std::string format_duration(std::chrono::milliseconds duration);

// Formats an age or a time left with two or three significant figures, as
// kubectl's AGE column does: `95s`, `3m12s`, `45m`, `2h5m`, `30h`, `3d4h`, `20d`.
// A negative duration is `0s`.
[[nodiscard]] std::string format_human_duration(std::chrono::milliseconds duration);

}  // namespace podsession::controller
