#include "auth/token.hpp"

#include <algorithm>
#include <array>
#include <concepts>
#include <ostream>
#include <set>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "auth/error.hpp"
#include "auth/verifier.hpp"

namespace podsession::auth {
namespace {

template <class T>
concept streamable = requires(std::ostream& out, const T& value) {
    out << value;
};

// A token must not reach a log line by accident: no operator<<, no fmt
// formatter, no implicit conversion to a string type.
static_assert(!streamable<session_token>);
static_assert(!fmt::is_formattable<session_token>::value);
static_assert(!std::convertible_to<session_token, std::string>);
static_assert(!std::convertible_to<session_token, std::string_view>);
static_assert(!std::convertible_to<std::string, session_token>);

[[nodiscard]] bool is_base64url(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

// Decodes base64url without padding with OpenSSL's standard decoder.
[[nodiscard]] std::string decode_base64url(std::string_view text) {
    std::string standard{text};
    std::replace(standard.begin(), standard.end(), '-', '+');
    std::replace(standard.begin(), standard.end(), '_', '/');
    const auto padding = (4 - standard.size() % 4) % 4;
    standard.append(padding, '=');
    std::string decoded(standard.size() / 4 * 3, '\0');
    const int size = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                     reinterpret_cast<const unsigned char*>(standard.data()),
                                     static_cast<int>(standard.size()));
    if (size < 0) {
        return {};
    }
    decoded.resize(static_cast<std::size_t>(size) - padding);
    return decoded;
}

TEST(token, has_43_base64url_characters) {
    for (int draw = 0; draw < 1000; ++draw) {
        const auto token = generate_session_token();
        ASSERT_TRUE(token) << token.error().message();
        const auto text = token->reveal();
        ASSERT_EQ(text.size(), token_length);
        ASSERT_TRUE(std::all_of(text.begin(), text.end(), is_base64url)) << "draw " << draw;
    }
}

TEST(token, decodes_to_32_bytes) {
    const auto token = generate_session_token();
    ASSERT_TRUE(token);
    EXPECT_EQ(decode_base64url(token->reveal()).size(), token_random_bytes);
}

TEST(token, draws_are_unique) {
    constexpr int draws = 10000;
    std::set<std::string, std::less<>> seen;
    for (int draw = 0; draw < draws; ++draw) {
        const auto token = generate_session_token();
        ASSERT_TRUE(token);
        seen.emplace(token->reveal());
    }
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(draws));
}

TEST(token, every_character_occurs) {
    // 64 symbols over 2000 tokens of 43 characters: a symbol that never occurs
    // would mean a broken alphabet, with odds of about 64 * (63/64)^86000.
    std::set<char> seen;
    for (int draw = 0; draw < 2000; ++draw) {
        const auto token = generate_session_token();
        ASSERT_TRUE(token);
        seen.insert(token->reveal().begin(), token->reveal().end());
    }
    EXPECT_EQ(seen.size(), 64U);
}

TEST(token, failing_random_source_returns_error) {
    const random_bytes_function failing_sources[] = {
        [](unsigned char*, int) { return 0; },
        [](unsigned char*, int) { return -1; },
    };
    for (const auto source : failing_sources) {
        const auto token = generate_session_token(source);
        ASSERT_FALSE(token);
        EXPECT_EQ(token.error(), errc::random_failed);
    }
}

TEST(token, uses_all_random_bytes) {
    const auto token = generate_session_token([](unsigned char* buffer, int count) {
        std::fill(buffer, buffer + count, static_cast<unsigned char>(0xff));
        return 1;
    });
    ASSERT_TRUE(token);
    EXPECT_EQ(token->reveal(), std::string(42, '_') + '8');
}

TEST(token, env_var_per_auth_mode) {
    const session_token token{"token-value"};

    const auto bearer = token_env(crd::auth_mode::bearer, token);
    ASSERT_TRUE(bearer);
    EXPECT_EQ(bearer->name, "ATLAS_PRESHARED_KEY");
    EXPECT_EQ(bearer->value.reveal(), "token-value");

    const auto signed_url = token_env(crd::auth_mode::signed_url, token);
    ASSERT_TRUE(signed_url);
    EXPECT_EQ(signed_url->name, "ATLAS_SIGNING_SECRET");
    EXPECT_EQ(signed_url->value.reveal(), "token-value");

    EXPECT_FALSE(token_env(crd::auth_mode::none, token));
}

TEST(token, env_names_match_verifier) {
    EXPECT_EQ(token_env_name(crd::auth_mode::bearer), preshared_key_env);
    EXPECT_EQ(token_env_name(crd::auth_mode::signed_url), signing_secret_env);
    EXPECT_EQ(token_env_name(crd::auth_mode::none), std::nullopt);
}

TEST(token, copies_and_moves_keep_value) {
    session_token original{"abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE"};
    const session_token copy = original;
    const session_token moved = std::move(original);
    EXPECT_EQ(copy.reveal(), "abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE");
    EXPECT_EQ(moved.reveal(), copy.reveal());
}

TEST(base64url, rfc4648_vectors) {
    struct test_case {
        std::string_view input;
        std::string_view encoded;
    };
    const test_case cases[] = {
        {"", ""},
        {"f", "Zg"},
        {"fo", "Zm8"},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg"},
        {"fooba", "Zm9vYmE"},
        {"foobar", "Zm9vYmFy"},
        // Bytes that standard base64 writes as '+' and '/'.
        {"\xfb\xff", "-_8"},
    };
    for (const auto& [input, encoded] : cases) {
        SCOPED_TRACE(encoded);
        const std::span bytes{reinterpret_cast<const unsigned char*>(input.data()), input.size()};
        EXPECT_EQ(detail::base64url_encode(bytes), encoded);
    }
}

}  // namespace
}  // namespace podsession::auth
