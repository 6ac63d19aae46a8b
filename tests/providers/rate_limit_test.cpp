#include "providers/runpod/rate_limit.hpp"

#include <gtest/gtest.h>

namespace podsession::providers::runpod {
namespace {

using std::chrono::seconds;

TEST(parse_rate_limit, merges_state_and_policy_per_window) {
    const auto limits =
        parse_rate_limit(R"("minute";r=0;t=12, "hour";r=2800;t=1812, "day";r=49500;t=45012)",
                         R"("minute";q=60;w=60, "hour";q=3000;w=3600, "day";q=50000;w=86400)");

    ASSERT_EQ(limits.windows.size(), 3U);
    const auto* minute = limits.find("minute");
    ASSERT_NE(minute, nullptr);
    EXPECT_EQ(minute->remaining, 0);
    EXPECT_EQ(minute->reset, seconds{12});
    EXPECT_EQ(minute->quota, 60);
    EXPECT_EQ(minute->length, seconds{60});
    const auto* day = limits.find("day");
    ASSERT_NE(day, nullptr);
    EXPECT_EQ(day->remaining, 49500);
    EXPECT_EQ(day->length, seconds{86400});
}

TEST(parse_rate_limit, exhausted_for_is_longest_reset_of_empty_windows) {
    const auto limits =
        parse_rate_limit(R"("minute";r=0;t=12, "hour";r=0;t=1812, "day";r=5;t=9)", "");
    EXPECT_EQ(limits.exhausted_for(), seconds{1812});
    EXPECT_FALSE(parse_rate_limit(R"("minute";r=3;t=12)", "").exhausted_for());
}

TEST(parse_rate_limit, skips_what_does_not_parse) {
    const auto limits = parse_rate_limit(R"(garbage, "minute";r=x;t=5;future=1, ;;, "hour")", "");
    const auto* minute = limits.find("minute");
    ASSERT_NE(minute, nullptr);
    EXPECT_FALSE(minute->remaining);
    EXPECT_EQ(minute->reset, seconds{5});
    EXPECT_EQ(limits.find("garbage"), nullptr);
    EXPECT_EQ(limits.find("hour"), nullptr);
}

TEST(parse_rate_limit, absent_headers_give_empty_state) {
    EXPECT_TRUE(parse_rate_limit("", "").empty());
}

}  // namespace
}  // namespace podsession::providers::runpod
