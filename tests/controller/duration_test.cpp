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

TEST(duration, human_form_keeps_two_or_three_figures) {
    using std::chrono::hours;
    using std::chrono::seconds;
    const std::pair<milliseconds, std::string_view> cases[] = {
        {milliseconds{-5000}, "0s"},
        {milliseconds{999}, "0s"},
        {seconds{119}, "119s"},
        {seconds{120}, "2m"},
        {seconds{192}, "3m12s"},
        {seconds{599}, "9m59s"},
        {minutes{10} + seconds{30}, "10m"},
        {minutes{179}, "179m"},
        {minutes{180}, "3h"},
        {minutes{125} + hours{3}, "5h5m"},
        {hours{8} + minutes{59}, "8h"},
        {hours{47}, "47h"},
        {hours{48}, "2d"},
        {hours{76}, "3d4h"},
        {hours{24 * 8}, "8d"},
        {hours{24 * 729}, "729d"},
        {hours{24 * 730}, "2y"},
        {hours{24 * (365 * 3 + 10)}, "3y10d"},
        {hours{24 * 365 * 9}, "9y"},
    };
    for (const auto& [duration, text] : cases) {
        SCOPED_TRACE(duration.count());
        EXPECT_EQ(format_human_duration(duration), text);
    }
}

}  // namespace
}  // namespace podsession::controller
