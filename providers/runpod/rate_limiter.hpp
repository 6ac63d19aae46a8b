#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "providers/runpod/rate_limit.hpp"

namespace podsession::providers::runpod {

// The client-side rate limit: decides when the next request may go so that
// the client stays within the quotas that RunPod advertises in its
// `RateLimit` and `RateLimit-Policy` headers, and honours `Retry-After` for
// every request, not only the one that got the 429.
//
// Pure state: the caller passes the time, so tests never sleep. Every
// `reserve` that returns no wait must be followed by exactly one `complete`
// (a response arrived) or `abandon` (none did).
//
// The estimate of what is left in a window is conservative: requests in
// flight count as spent, and a response reporting more than the estimate
// does not raise it within the same window, because responses on different
// connections may arrive out of order.
class rate_limiter {
  public:
    using clock = std::chrono::steady_clock;

    // How long a request waits before asking again while the first response,
    // or the first response after a window of unknown quota reset, is awaited.
    static constexpr std::chrono::milliseconds probe_interval{50};

    // Reserves a slot for one request at `now` and returns nothing, or returns
    // how long to wait before calling again.
    [[nodiscard]] std::optional<std::chrono::milliseconds> reserve(clock::time_point now);

    // Records the response to a reserved request, with its parsed rate limit
    // headers (empty when it had none).
    void complete(const rate_limit& reported, clock::time_point now);

    // Releases a reservation whose request got no response. The request may
    // still have reached the server, so it stays counted.
    void abandon();

    // Blocks every request until `now + wait`, after a 429's `Retry-After`.
    void retry_after(std::chrono::milliseconds wait, clock::time_point now);

    [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_; }

    // The requests that may still go in `window` before its reset, as
    // estimated at the last call; nothing when unknown.
    [[nodiscard]] std::optional<std::int64_t> available(const std::string& window) const;

  private:
    struct window_state {
        std::string name;
        std::optional<std::int64_t> quota;
        std::optional<std::chrono::seconds> length;
        // Requests the client may still send before `reset_at`.
        std::optional<std::int64_t> available;
        // The latest time at which the server's window has certainly reset.
        std::optional<clock::time_point> reset_at;
    };

    void refresh(clock::time_point now);
    window_state& window_named(const std::string& name);

    std::vector<window_state> windows_;
    std::optional<clock::time_point> blocked_until_;
    std::size_t in_flight_ = 0;
    bool response_seen_ = false;
};

}  // namespace podsession::providers::runpod
