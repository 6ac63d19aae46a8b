#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace podsession::providers::runpod {

// One quota window of RunPod's rate limit (`minute`, `hour` or `day`), merged
// from the `RateLimit` and `RateLimit-Policy` headers of one response.
struct rate_limit_window {
    std::string name;
    // `r`: requests left in the current window.
    std::optional<std::int64_t> remaining;
    // `t`: time until the current window resets.
    std::optional<std::chrono::seconds> reset;
    // `q`: requests allowed per window.
    std::optional<std::int64_t> quota;
    // `w`: the window's length.
    std::optional<std::chrono::seconds> length;
};

// The quota state that a response reported. Both headers are optional (rate
// limit exempt callers get neither), so the state may be empty.
struct rate_limit {
    std::vector<rate_limit_window> windows;

    [[nodiscard]] bool empty() const noexcept { return windows.empty(); }
    [[nodiscard]] const rate_limit_window* find(std::string_view name) const noexcept;
    // The maximum reset time among exhausted windows (`r=0`), which a caller
    // must wait before any request can succeed. Nothing if none is exhausted.
    [[nodiscard]] std::optional<std::chrono::seconds> exhausted_for() const noexcept;
};

// Parses the structured-field lists of RFC 9651 as RunPod sends them, for
// example `"minute";r=0;t=12, "hour";r=2800;t=1812` and
// `"minute";q=60;w=60, "hour";q=3000;w=3600`. Members or parameters that do
// not parse are skipped; unknown parameters are ignored.
[[nodiscard]] rate_limit parse_rate_limit(std::string_view rate_limit_header,
                                          std::string_view policy_header);

}  // namespace podsession::providers::runpod
