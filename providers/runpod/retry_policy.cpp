#include "providers/runpod/retry_policy.hpp"

#include <algorithm>
#include <cstdint>

namespace podsession::providers::runpod {

std::chrono::milliseconds retry_policy::delay(int attempt, double unit_random) const {
    const int exponent = std::clamp(attempt, 0, 20);
    const auto backoff =
        std::min<std::chrono::milliseconds>(base_delay * (std::int64_t{1} << exponent), max_delay);
    const double scale = 0.5 + 0.5 * std::clamp(unit_random, 0.0, 1.0);
    return std::chrono::milliseconds{
        static_cast<std::int64_t>(static_cast<double>(backoff.count()) * scale)};
}

}  // namespace podsession::providers::runpod
