#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace podsession::crd {

// Wall-clock instants as the PodSession API carries them. Milliseconds keep the
// fractional seconds of a touch annotation; the API writes whole seconds.
using timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

// Parses an RFC 3339 date-time: `2026-12-04T19:37:02Z`, with optional fractional
// seconds, a `+hh:mm`/`-hh:mm` offset instead of `Z`, and the lowercase `t`/`z`
// or a space separator that RFC 3339 allows. Digits beyond milliseconds are
// truncated. Returns nothing on any other input.
[[nodiscard]] std::optional<timestamp> parse_rfc3339(std::string_view text);

// Formats as RFC 3339 UTC with whole seconds (`2026-12-04T19:37:02Z`), the form
// Kubernetes uses for metav1.Time. Milliseconds are truncated.
[[nodiscard]] std::string format_rfc3339(timestamp time);

}  // namespace podsession::crd
