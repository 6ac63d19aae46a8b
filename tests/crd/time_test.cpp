#include "crd/time.hpp"

#include <gtest/gtest.h>

namespace podsession::crd {
namespace {

using namespace std::chrono;

constexpr auto base = sys_days{year{2026} / December / 4} + hours{19} + minutes{37} + seconds{2};

TEST(rfc3339, parses_accepted_forms) {
    struct test_case {
        std::string_view text;
        timestamp expected;
    };
    const test_case cases[] = {
        {"2026-12-04T19:37:02Z", base},
        {"2026-12-04t19:37:02z", base},
        {"2026-12-04 19:37:02Z", base},
        {"2026-12-05T01:07:02+05:30", base},
        {"2026-12-04T14:37:02-05:00", base},
        {"2026-12-04T19:37:02.250Z", base + milliseconds{250}},
        {"2026-12-04T19:37:02.5Z", base + milliseconds{500}},
        {"2026-12-04T19:37:02.123456789Z", base + milliseconds{123}},
        {"2026-12-04T19:37:02.999+00:00", base + milliseconds{999}},
        {"2016-12-31T23:59:60Z",
         sys_days{year{2016} / December / 31} + hours{23} + minutes{59} + seconds{59}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.text);
        const auto parsed = parse_rfc3339(c.text);
        ASSERT_TRUE(parsed.has_value());
        EXPECT_EQ(*parsed, c.expected);
    }
}

TEST(rfc3339, rejects_malformed_text) {
    for (const std::string_view text :
         {"", "yesterday", "2026-12-04", "2026-12-04T19:37Z", "2026-12-04T19:37:02",
          "2026-13-04T19:37:02Z", "2026-02-30T19:37:02Z", "2026-12-04T24:00:00Z",
          "2026-12-04T19:37:02.Z", "2026-12-04T19:37:02+0530", "2026-12-04T19:37:02Z ",
          "1764877022", "2026-12-04T19:37:02+24:00"}) {
        SCOPED_TRACE(text);
        EXPECT_FALSE(parse_rfc3339(text).has_value());
    }
}

TEST(rfc3339, formats_utc_whole_seconds) {
    EXPECT_EQ(format_rfc3339(base), "2026-12-04T19:37:02Z");
    EXPECT_EQ(format_rfc3339(base + milliseconds{999}), "2026-12-04T19:37:02Z");
    EXPECT_EQ(format_rfc3339(timestamp{}), "1970-01-01T00:00:00Z");
}

TEST(rfc3339, round_trips) {
    const auto parsed = parse_rfc3339(format_rfc3339(base));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, base);
}

}  // namespace
}  // namespace podsession::crd
