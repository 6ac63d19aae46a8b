#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace podsession::controller::kubernetes {

// Exponential backoff with jitter: the n-th delay in a row is drawn uniformly
// from [d/2, d] with d = min(base * 2^n, max), so that replicas and loops that
// fail together spread out. The seed makes it reproducible in tests.
class backoff {
  public:
    backoff(std::chrono::milliseconds base, std::chrono::milliseconds max, std::uint64_t seed)
        : base_{base}, max_{max}, random_{seed} {}

    [[nodiscard]] std::chrono::milliseconds next() {
        const int exponent = std::min(failures_, 30);
        const auto ceiling =
            std::min<std::int64_t>(base_.count() * (std::int64_t{1} << exponent), max_.count());
        ++failures_;
        std::uniform_int_distribution<std::int64_t> spread{ceiling / 2, ceiling};
        return std::chrono::milliseconds{spread(random_)};
    }

    void reset() { failures_ = 0; }

    [[nodiscard]] int failures() const { return failures_; }

  private:
    std::chrono::milliseconds base_;
    std::chrono::milliseconds max_;
    std::mt19937_64 random_;
    int failures_ = 0;
};

}  // namespace podsession::controller::kubernetes
