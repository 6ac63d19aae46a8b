#include "controller/duration.hpp"

#include <gtest/gtest.h>

namespace podsession::controller {
namespace {

using namespace std::chrono;

TEST(duration, parses_units_and_sums) {
    EXPECT_EQ(parse_duration("15m"), minutes{15});
    EXPECT_EQ(parse_duration("90s"), seconds{90});
    EXPECT_EQ(parse_duration("1h30m"), minutes{90});
    EXPECT_EQ(parse_duration("500ms"), milliseconds{500});
    EXPECT_EQ(parse_duration("1m1s1ms"), milliseconds{61001});
    EXPECT_EQ(parse_duration("0s"), milliseconds{0});
}

TEST(duration, rejects_missing_units_and_garbage) {
    for (const std::string_view text :
         {"", "15", "m", "1x", "1.5h", "-1s", "1h ", " 1h", "99999999999999999999h"}) {
        SCOPED_TRACE(text);
        EXPECT_FALSE(parse_duration(text).has_value());
    }
}

TEST(duration, formats_as_it_parses) {
    EXPECT_EQ(format_duration(minutes{90}), "1h30m");
    EXPECT_EQ(format_duration(milliseconds{1500}), "1s500ms");
    EXPECT_EQ(format_duration(milliseconds{0}), "0s");
    EXPECT_EQ(parse_duration(format_duration(milliseconds{3723004})), milliseconds{3723004});
}

}  // namespace
}  // namespace podsession::controller
