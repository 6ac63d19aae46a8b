#pragma once

#include <chrono>

namespace podsession::providers::runpod {

// When the client sends a failed request again: the reads (list, get) and
// DELETE, on a transient failure or a 429, with jittered exponential backoff,
// bounded in attempts and in total time. Creates never use it, because a
// failed create may have made a pod.
struct retry_policy {
    // Attempts in all, the first included. 1 disables retries.
    int max_attempts = 4;
    // The delay after the first failure; it doubles after each further one.
    std::chrono::milliseconds base_delay{250};
    std::chrono::milliseconds max_delay{4'000};
    // No retry starts later than this after the first attempt started.
    std::chrono::milliseconds budget{20'000};

    // Returns the delay after failed attempt `attempt` (0 for the first): the
    // backoff for that attempt scaled into [1/2, 1] by `unit_random` in [0, 1),
    // so that clients failing together do not retry in step.
    [[nodiscard]] std::chrono::milliseconds delay(int attempt, double unit_random) const;
};

}  // namespace podsession::providers::runpod
