#include "controller/log.hpp"

#include <gtest/gtest.h>

namespace podsession::controller::log {
namespace {

TEST(log_quote, leaves_plain_words_bare) {
    EXPECT_EQ(quote("apps/user-42"), "apps/user-42");
}

TEST(log_quote, escapes_control_characters) {
    const std::string with_escape = "a\x1b[31mred\x07\x7f";
    const auto quoted = quote(with_escape);
    EXPECT_EQ(quoted.find('\x1b'), std::string::npos) << quoted;
    EXPECT_EQ(quoted.find('\x07'), std::string::npos) << quoted;
    EXPECT_EQ(quoted, "\"a\\x1b[31mred\\x07\\x7f\"");
}

TEST(log_quote, escapes_quotes_and_newlines) {
    EXPECT_EQ(quote("say \"hi\"\nnext"), "\"say \\\"hi\\\"\\nnext\"");
}

TEST(log_escape_controls, escapes_only_control_characters) {
    EXPECT_EQ(escape_controls("NVIDIA GeForce \"RTX\" 4090\\"), "NVIDIA GeForce \"RTX\" 4090\\");
    EXPECT_EQ(escape_controls("a\x1b[31m\nb\tc\r\x7f"), "a\\x1b[31m\\nb\\tc\\r\\x7f");
}

TEST(log_parse_level, knows_the_levels_of_log_level) {
    EXPECT_EQ(parse_level("warn"), spdlog::level::warn);
    EXPECT_EQ(parse_level("off"), spdlog::level::off);
    EXPECT_EQ(parse_level("loud"), std::nullopt);
    EXPECT_EQ(parse_level(""), std::nullopt);
}

}  // namespace
}  // namespace podsession::controller::log
