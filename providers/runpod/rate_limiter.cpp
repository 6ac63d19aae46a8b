#include "providers/runpod/rate_limiter.hpp"

#include <algorithm>

namespace podsession::providers::runpod {

namespace {

using std::chrono::milliseconds;

// The `t` of a response is whole seconds rounded up, and two responses of
// one window can take different times to arrive, so their reset estimates
// differ by up to about a second. A reset later than the stored one by more
// than this belongs to a new window of the server.
constexpr milliseconds new_window_margin{2'000};

milliseconds until(rate_limiter::clock::time_point from, rate_limiter::clock::time_point to) {
    return std::chrono::ceil<milliseconds>(to - from);
}

}  // namespace

rate_limiter::window_state& rate_limiter::window_named(const std::string& name) {
    for (auto& window : windows_) {
        if (window.name == name) {
            return window;
        }
    }
    window_state added;
    added.name = name;
    return windows_.emplace_back(std::move(added));
}

void rate_limiter::refresh(clock::time_point now) {
    for (auto& window : windows_) {
        if (window.reset_at && now >= *window.reset_at) {
            // The server's window has ended. The next one allows the full
            // quota, when the quota is known, less the requests still in
            // flight, because they may reach the server after the reset.
            window.available.reset();
            if (window.quota) {
                window.available = std::max<std::int64_t>(
                    0, *window.quota - static_cast<std::int64_t>(in_flight_));
            }
            window.reset_at.reset();
        }
    }
    if (blocked_until_ && now >= *blocked_until_) {
        blocked_until_.reset();
    }
}

std::optional<milliseconds> rate_limiter::reserve(clock::time_point now) {
    refresh(now);

    milliseconds wait{0};
    if (blocked_until_) {
        wait = until(now, *blocked_until_);
    }
    bool probing = !response_seen_;
    for (const auto& window : windows_) {
        if (!window.available) {
            probing = true;
        } else if (*window.available <= 0) {
            // An exhausted window always has a reset time: only a response
            // sets `available` below the quota, and it sets the reset too.
            const auto reset = window.reset_at.value_or(now + probe_interval);
            wait = std::max(wait, until(now, reset));
        }
    }
    // Without a known quota, one request at a time learns it.
    if (probing && in_flight_ > 0) {
        wait = std::max(wait, probe_interval);
    }
    if (wait > milliseconds::zero()) {
        return wait;
    }

    for (auto& window : windows_) {
        if (window.available) {
            *window.available -= 1;
        }
    }
    ++in_flight_;
    return std::nullopt;
}

void rate_limiter::complete(const rate_limit& reported, clock::time_point now) {
    if (in_flight_ > 0) {
        --in_flight_;
    }
    response_seen_ = true;
    refresh(now);

    for (const auto& update : reported.windows) {
        auto& window = window_named(update.name);
        if (update.quota) {
            window.quota = update.quota;
        }
        if (update.length) {
            window.length = update.length;
        }
        if (!update.remaining || !update.reset) {
            continue;
        }

        // Requests still in flight may not be in the server's count yet.
        const std::int64_t estimate =
            std::max<std::int64_t>(0, *update.remaining - static_cast<std::int64_t>(in_flight_));
        const auto reset_at = now + *update.reset;
        auto margin = new_window_margin;
        if (window.length) {
            margin = std::min<milliseconds>(margin, *window.length / 2);
        }
        const bool new_window =
            !window.reset_at || !window.available || reset_at > *window.reset_at + margin;
        if (new_window) {
            window.available = estimate;
            window.reset_at = reset_at;
        } else {
            window.available = std::min(*window.available, estimate);
        }
    }
}

void rate_limiter::abandon() {
    if (in_flight_ > 0) {
        --in_flight_;
    }
}

void rate_limiter::retry_after(milliseconds wait, clock::time_point now) {
    const auto until_time = now + wait;
    if (!blocked_until_ || until_time > *blocked_until_) {
        blocked_until_ = until_time;
    }
}

std::optional<std::int64_t> rate_limiter::available(const std::string& window) const {
    for (const auto& candidate : windows_) {
        if (candidate.name == window) {
            return candidate.available;
        }
    }
    return std::nullopt;
}

}  // namespace podsession::providers::runpod
