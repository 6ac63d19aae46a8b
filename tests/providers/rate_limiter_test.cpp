// The client-side rate limit and the retry policy as pure state: time is a
// value passed in, so nothing sleeps.

#include "providers/runpod/rate_limiter.hpp"

#include <gtest/gtest.h>

#include "providers/runpod/retry_policy.hpp"

namespace podsession::providers::runpod {
namespace {

using namespace std::chrono_literals;
using clock = rate_limiter::clock;

const clock::time_point start = clock::time_point{} + 1h;

rate_limit reported(std::int64_t remaining, std::int64_t reset_seconds, std::int64_t quota,
                    std::int64_t length_seconds) {
    return parse_rate_limit(
        "\"minute\";r=" + std::to_string(remaining) + ";t=" + std::to_string(reset_seconds),
        "\"minute\";q=" + std::to_string(quota) + ";w=" + std::to_string(length_seconds));
}

TEST(rate_limiter, first_request_goes_alone) {
    rate_limiter limiter;

    EXPECT_FALSE(limiter.reserve(start));
    const auto second = limiter.reserve(start);

    ASSERT_TRUE(second);
    EXPECT_EQ(*second, rate_limiter::probe_interval);
    EXPECT_EQ(limiter.in_flight(), 1U);
}

TEST(rate_limiter, response_without_headers_lifts_the_probe) {
    rate_limiter limiter;
    ASSERT_FALSE(limiter.reserve(start));
    limiter.complete(rate_limit{}, start);

    EXPECT_FALSE(limiter.reserve(start));
    EXPECT_FALSE(limiter.reserve(start));
    EXPECT_EQ(limiter.in_flight(), 2U);
}

TEST(rate_limiter, spends_remaining_quota_then_waits_for_reset) {
    rate_limiter limiter;
    ASSERT_FALSE(limiter.reserve(start));
    limiter.complete(reported(3, 20, 5, 60), start);

    EXPECT_FALSE(limiter.reserve(start));
    EXPECT_FALSE(limiter.reserve(start));
    EXPECT_FALSE(limiter.reserve(start));
    const auto wait = limiter.reserve(start + 5s);

    ASSERT_TRUE(wait);
    EXPECT_EQ(*wait, 15s);
    EXPECT_EQ(limiter.available("minute"), 0);
}

TEST(rate_limiter, full_quota_after_reset) {
    rate_limiter limiter;
    ASSERT_FALSE(limiter.reserve(start));
    limiter.complete(reported(0, 10, 4, 60), start);
    ASSERT_TRUE(limiter.reserve(start + 9s));

    EXPECT_FALSE(limiter.reserve(start + 10s));

    EXPECT_EQ(limiter.available("minute"), 3);
}

TEST(rate_limiter, reset_counts_requests_in_flight) {
    rate_limiter limiter;
    ASSERT_FALSE(limiter.reserve(start));
    limiter.complete(reported(1, 10, 3, 60), start);
    ASSERT_FALSE(limiter.reserve(start + 9s));

    // The request sent just before the reset may land in the next window.
    ASSERT_FALSE(limiter.reserve(start + 10s));

    EXPECT_EQ(limiter.available("minute"), 1);
}

TEST(rate_limiter, requests_in_flight_count_as_spent) {
    rate_limiter limiter;
    ASSERT_FALSE(limiter.reserve(start));
    limiter.complete(reported(10, 30, 10, 60), start);
    for (int i = 0; i < 4; ++i) {
        ASSERT_FALSE(limiter.reserve(start));
    }

    // The server counted only the first of the four so far.
    limiter.complete(reported(9, 30, 10, 60), start + 1s);

    EXPECT_EQ(limiter.available("minute"), 6);
}

TEST(rate_limiter, stale_response_does_not_raise_estimate) {
    rate_limiter limiter;
    ASSERT_FALSE(limiter.reserve(start));
    limiter.complete(reported(5, 30, 10, 60), start);
    ASSERT_FALSE(limiter.reserve(start));
    ASSERT_FALSE(limiter.reserve(start));

    // The later request's response arrives first, then the earlier one's.
    // The server has 3 left. The estimate is one lower, because the client
    // counted the request still in flight at the first response as unseen.
    limiter.complete(reported(3, 30, 10, 60), start + 1s);
    limiter.complete(reported(4, 30, 10, 60), start + 1s);

    EXPECT_EQ(limiter.available("minute"), 2);
}

TEST(rate_limiter, later_reset_starts_new_window) {
    rate_limiter limiter;
    ASSERT_FALSE(limiter.reserve(start));
    limiter.complete(reported(1, 30, 10, 60), start);

    // A reset far beyond the stored one: the server began a new window.
    ASSERT_FALSE(limiter.reserve(start + 29s));
    limiter.complete(reported(9, 60, 10, 60), start + 29s);

    EXPECT_EQ(limiter.available("minute"), 9);
}

TEST(rate_limiter, retry_after_holds_every_request) {
    rate_limiter limiter;
    ASSERT_FALSE(limiter.reserve(start));
    limiter.complete(reported(50, 30, 60, 60), start);

    limiter.retry_after(7s, start);

    const auto first = limiter.reserve(start + 2s);
    ASSERT_TRUE(first);
    EXPECT_EQ(*first, 5s);
    const auto second = limiter.reserve(start + 6500ms);
    ASSERT_TRUE(second);
    EXPECT_EQ(*second, 500ms);
    EXPECT_FALSE(limiter.reserve(start + 7s));
}

TEST(rate_limiter, shorter_retry_after_keeps_longer_block) {
    rate_limiter limiter;
    limiter.retry_after(10s, start);
    limiter.retry_after(2s, start + 1s);

    const auto wait = limiter.reserve(start + 3s);

    ASSERT_TRUE(wait);
    EXPECT_EQ(*wait, 7s);
}

TEST(rate_limiter, abandoned_request_stays_counted) {
    rate_limiter limiter;
    ASSERT_FALSE(limiter.reserve(start));
    limiter.complete(reported(2, 30, 2, 60), start);
    ASSERT_FALSE(limiter.reserve(start));
    limiter.abandon();
    ASSERT_FALSE(limiter.reserve(start));

    EXPECT_TRUE(limiter.reserve(start));
    EXPECT_EQ(limiter.in_flight(), 1U);
}

TEST(rate_limiter, tightest_window_decides) {
    rate_limiter limiter;
    ASSERT_FALSE(limiter.reserve(start));
    limiter.complete(parse_rate_limit("\"minute\";r=30;t=40, \"hour\";r=0;t=1800",
                                      "\"minute\";q=60;w=60, \"hour\";q=3000;w=3600"),
                     start);

    const auto wait = limiter.reserve(start);

    ASSERT_TRUE(wait);
    EXPECT_EQ(*wait, 1800s);
}

struct delay_case {
    int attempt;
    double unit_random;
    std::chrono::milliseconds expected;
};

TEST(retry_policy, delay_doubles_with_jitter_and_cap) {
    const retry_policy policy{
        .max_attempts = 6, .base_delay = 200ms, .max_delay = 1s, .budget = 10s};
    const delay_case cases[] = {
        {0, 0.0, 100ms},  {0, 0.999, 199ms}, {1, 0.5, 300ms},   {2, 0.0, 400ms},
        {3, 1.0, 1000ms}, {10, 0.0, 500ms},  {40, 1.0, 1000ms},
    };
    for (const auto& row : cases) {
        SCOPED_TRACE("attempt " + std::to_string(row.attempt) + " random " +
                     std::to_string(row.unit_random));
        EXPECT_EQ(policy.delay(row.attempt, row.unit_random), row.expected);
    }
}

}  // namespace
}  // namespace podsession::providers::runpod
