#include "net/url.hpp"

#include <gtest/gtest.h>

#include "net/error.hpp"

namespace podsession::net {
namespace {

TEST(parse_origin, reads_scheme_host_port_and_path) {
    const auto parsed = parse_origin("https://api.runpod.io");
    ASSERT_TRUE(parsed);
    EXPECT_TRUE(parsed->tls);
    EXPECT_EQ(parsed->host, "api.runpod.io");
    EXPECT_EQ(parsed->port, 443);
    EXPECT_EQ(parsed->base_path, "");
    EXPECT_EQ(parsed->host_header(), "api.runpod.io");
}

TEST(parse_origin, keeps_base_path_without_trailing_slash) {
    const auto parsed = parse_origin("http://127.0.0.1:8080/prefix/");
    ASSERT_TRUE(parsed);
    EXPECT_FALSE(parsed->tls);
    EXPECT_EQ(parsed->port, 8080);
    EXPECT_EQ(parsed->base_path, "/prefix");
    EXPECT_EQ(parsed->host_header(), "127.0.0.1:8080");
    EXPECT_EQ(parsed->to_string(), "http://127.0.0.1:8080/prefix");
}

TEST(parse_origin, unbrackets_ipv6_hosts) {
    const auto parsed = parse_origin("http://[::1]:9000");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->host, "::1");
    EXPECT_EQ(parsed->host_header(), "[::1]:9000");
}

TEST(parse_origin, rejects_what_it_cannot_use) {
    for (const char* url :
         {"", "api.runpod.io", "ftp://host", "http://", "http://user:key@host",
          "http://host/?key=secret", "http://host/#x", "http://host:0", "http://host:70000"}) {
        SCOPED_TRACE(url);
        const auto parsed = parse_origin(url);
        ASSERT_FALSE(parsed);
        EXPECT_EQ(parsed.error(), errc::invalid_url);
    }
}

}  // namespace
}  // namespace podsession::net
