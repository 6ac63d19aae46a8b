#include "auth/signed_url.hpp"

#include <chrono>
#include <cstdint>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "auth/error.hpp"
#include "auth/verifier.hpp"

namespace podsession::auth {

// Prints statuses by name in failure messages.
void PrintTo(signed_url_status status, std::ostream* out) {
    *out << to_string(status);
}

namespace {

using std::chrono::seconds;
using std::chrono::sys_seconds;

// The ExAtlas test vectors, copied into this folder as test data.
struct vector_file {
    std::string secret;
    sys_seconds now{};
    seconds expires_in{};
    boost::json::array vectors;
    boost::json::array verify_cases;
};

const vector_file& vectors() {
    static const vector_file file = [] {
        std::ifstream input{PODSESSION_AUTH_VECTORS};
        std::stringstream text;
        text << input.rdbuf();
        boost::system::error_code error;
        const auto document = boost::json::parse(text.str(), error);
        vector_file result;
        if (error || !document.is_object()) {
            return result;
        }
        const auto& object = document.as_object();
        result.secret = boost::json::value_to<std::string>(object.at("secret"));
        result.now = sys_seconds{seconds{object.at("now").to_number<std::int64_t>()}};
        result.expires_in = seconds{object.at("expires_in").to_number<std::int64_t>()};
        result.vectors = object.at("vectors").as_array();
        result.verify_cases = object.at("verify_cases").as_array();
        return result;
    }();
    return file;
}

[[nodiscard]] std::string field(const boost::json::value& item, std::string_view name) {
    return boost::json::value_to<std::string>(item.as_object().at(name));
}

[[nodiscard]] std::vector<std::size_t> indexes(std::size_t count) {
    std::vector<std::size_t> result(count);
    for (std::size_t i = 0; i < count; ++i) {
        result[i] = i;
    }
    return result;
}

TEST(signed_url_vectors, file_holds_every_case) {
    // Guards the parameterized tests below, which would run zero cases on a
    // missing or truncated file.
    EXPECT_EQ(vectors().secret, "test-secret-test-secret-test-secret");
    EXPECT_EQ(vectors().vectors.size(), 5U);
    EXPECT_EQ(vectors().verify_cases.size(), 6U);
}

class signing_vector : public testing::TestWithParam<std::size_t> {};

TEST_P(signing_vector, signs_as_exatlas) {
    const auto& item = vectors().vectors.at(GetParam());
    const session_token secret{vectors().secret};

    const auto signed_url =
        sign_url(field(item, "url"), secret, vectors().now + vectors().expires_in);

    ASSERT_TRUE(signed_url) << signed_url.error().message();
    EXPECT_EQ(*signed_url, field(item, "signed"));
}

TEST_P(signing_vector, canonical_string_matches) {
    const auto& item = vectors().vectors.at(GetParam());
    const auto signed_url = field(item, "signed");
    const auto parts = detail::split_url(signed_url);
    ASSERT_TRUE(parts);
    auto parameters = detail::parse_query(parts->query);
    ASSERT_TRUE(parameters);
    parameters->erase("sig");

    EXPECT_EQ(detail::canonical_string(parts->path, *parameters), field(item, "canonical"));
}

TEST_P(signing_vector, signed_url_verifies_until_expiry) {
    const auto& item = vectors().vectors.at(GetParam());
    const session_token secret{vectors().secret};
    const auto expires_at = vectors().now + vectors().expires_in;

    EXPECT_EQ(verify_url(field(item, "signed"), secret, vectors().now), signed_url_status::ok);
    EXPECT_EQ(verify_url(field(item, "signed"), secret, expires_at), signed_url_status::ok);
    EXPECT_EQ(verify_url(field(item, "signed"), secret, expires_at + seconds{1}),
              signed_url_status::expired);
}

INSTANTIATE_TEST_SUITE_P(exatlas, signing_vector, testing::ValuesIn(indexes(5)));

class verify_case : public testing::TestWithParam<std::size_t> {};

TEST_P(verify_case, matches_expected_result) {
    const auto& item = vectors().verify_cases.at(GetParam());
    const sys_seconds now{seconds{item.as_object().at("now").to_number<std::int64_t>()}};

    const auto status = verify_url(field(item, "url"), session_token{vectors().secret}, now);

    EXPECT_EQ(to_string(status), field(item, "expect")) << field(item, "url");
}

INSTANTIATE_TEST_SUITE_P(exatlas, verify_case, testing::ValuesIn(indexes(6)));

// Round trips through sign_url and verify_url with URLs that stress the encoding.
struct round_trip_case {
    std::string_view name;
    std::string_view url;
};

class round_trip : public testing::TestWithParam<round_trip_case> {};

const sys_seconds round_trip_now{seconds{1'800'000'000}};
const session_token round_trip_secret{"Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE"};

// The path and query as a client sends them: no origin, no fragment.
[[nodiscard]] std::string request_target(std::string_view url) {
    const auto parts = detail::split_url(url);
    if (!parts) {
        return {};
    }
    std::string target{parts->path};
    target += '?';
    target += parts->query;
    return target;
}

TEST_P(round_trip, verifies_until_expiry) {
    const auto expires_at = round_trip_now + seconds{600};
    const auto signed_url = sign_url(GetParam().url, round_trip_secret, expires_at);
    ASSERT_TRUE(signed_url) << signed_url.error().message();

    EXPECT_EQ(verify_url(*signed_url, round_trip_secret, round_trip_now), signed_url_status::ok)
        << *signed_url;
    EXPECT_EQ(verify_url(request_target(*signed_url), round_trip_secret, round_trip_now),
              signed_url_status::ok)
        << *signed_url;
    EXPECT_EQ(verify_url(*signed_url, round_trip_secret, expires_at), signed_url_status::ok);
    EXPECT_EQ(verify_url(*signed_url, round_trip_secret, expires_at + seconds{1}),
              signed_url_status::expired);
}

TEST_P(round_trip, rejects_other_secret) {
    const auto signed_url = sign_url(GetParam().url, round_trip_secret, round_trip_now);
    ASSERT_TRUE(signed_url);

    EXPECT_EQ(verify_url(*signed_url, session_token{"another-secret"}, round_trip_now),
              signed_url_status::bad_signature);
}

TEST_P(round_trip, rejects_changed_signature) {
    const auto signed_url = sign_url(GetParam().url, round_trip_secret, round_trip_now);
    ASSERT_TRUE(signed_url);
    auto tampered = *signed_url;
    const auto signature = tampered.find("sig=") + 4;
    tampered[signature] = tampered[signature] == 'A' ? 'B' : 'A';

    EXPECT_EQ(verify_url(tampered, round_trip_secret, round_trip_now),
              signed_url_status::bad_signature);
}

TEST_P(round_trip, rejects_added_parameter) {
    const auto signed_url = sign_url(GetParam().url, round_trip_secret, round_trip_now);
    ASSERT_TRUE(signed_url);
    auto tampered = *signed_url;
    tampered.insert(tampered.find('?') + 1, "admin=1&");

    EXPECT_EQ(verify_url(tampered, round_trip_secret, round_trip_now),
              signed_url_status::bad_signature);
}

INSTANTIATE_TEST_SUITE_P(
    odd_urls, round_trip,
    testing::Values(
        round_trip_case{"plain", "https://x.test/media/clip.mp4"},
        round_trip_case{"raw_space", "https://x.test/a?q=hello world"},
        round_trip_case{"encoded_space", "https://x.test/a?q=hello%20world&r=a+b"},
        round_trip_case{"encoded_equals_and_ampersand", "https://x.test/a?k%3D1=v%3D2&x=%26%26"},
        round_trip_case{"raw_equals_in_value", "https://x.test/a?expr=a=b=c"},
        round_trip_case{"empty_pairs", "https://x.test/a?&&a=1&&"},
        round_trip_case{"key_without_value", "https://x.test/a?flag&b="},
        round_trip_case{"raw_utf8", "https://x.test/a?name=Zoë&city=東京"},
        round_trip_case{"encoded_utf8", "https://x.test/a?name=Zo%C3%AB&emoji=%F0%9F%8E%AC"},
        round_trip_case{"utf8_key", "https://x.test/a?%C3%A9t%C3%A9=summer"},
        round_trip_case{"repeated_keys", "https://x.test/a?a=1&b=2&a=3&a=4"},
        round_trip_case{"empty_path", "https://x.test"},
        round_trip_case{"empty_path_with_query", "https://x.test?a=1"},
        round_trip_case{"root_path", "https://x.test/"},
        round_trip_case{"fragment", "https://x.test/a?b=1#t=30"},
        round_trip_case{"fragment_without_query", "https://x.test/a#section"},
        round_trip_case{"encoded_path", "https://x.test/media/my%20clip%2Fpart.mp4"},
        round_trip_case{"port_and_userinfo", "http://user@127.0.0.1:8000/v1/a?b=c"},
        round_trip_case{"request_target", "/media/clip.mp4?user=42"},
        round_trip_case{"control_bytes", "https://x.test/a?nul=%00&tab=%09&del=%7F"},
        round_trip_case{"reserved_characters", "https://x.test/a?q=!$'()*,;:@/?"},
        round_trip_case{"already_signed",
                        "https://x.test/a?exp=1&sig=R1MEkzI_4SrzJ3czIhjrhMDtVxLE0UgQHosWtdUP1A4"}),
    [](const testing::TestParamInfo<round_trip_case>& info) {
        return std::string{info.param.name};
    });

TEST(sign_url, repeated_key_keeps_last_value) {
    const auto signed_url = sign_url("https://x.test/a?a=1&a=2", round_trip_secret, round_trip_now);
    ASSERT_TRUE(signed_url);
    EXPECT_NE(signed_url->find("a=2"), std::string::npos);
    EXPECT_EQ(signed_url->find("a=1"), std::string::npos);
}

TEST(sign_url, replaces_existing_exp_and_sig) {
    const auto signed_url =
        sign_url("https://x.test/a?exp=5&sig=old", round_trip_secret, round_trip_now);
    ASSERT_TRUE(signed_url);
    const auto parts = detail::split_url(*signed_url);
    ASSERT_TRUE(parts);
    const auto parameters = detail::parse_query(parts->query);
    ASSERT_TRUE(parameters);
    EXPECT_EQ(parameters->size(), 2U);
    EXPECT_EQ(parameters->at("exp"), "1800000000");
    EXPECT_NE(parameters->at("sig"), "old");
}

TEST(sign_url, keeps_fragment_and_writes_root_path) {
    const auto signed_url = sign_url("https://x.test#top", round_trip_secret, round_trip_now);
    ASSERT_TRUE(signed_url);
    EXPECT_TRUE(signed_url->starts_with("https://x.test/?exp=1800000000&sig=")) << *signed_url;
    EXPECT_TRUE(signed_url->ends_with("#top")) << *signed_url;
}

TEST(sign_url, reencodes_query_canonically) {
    const auto signed_url =
        sign_url("https://x.test/a?q=a%20b%2bc&e=%e2%82%ac", round_trip_secret, round_trip_now);
    ASSERT_TRUE(signed_url);
    EXPECT_NE(signed_url->find("e=%E2%82%AC"), std::string::npos) << *signed_url;
    EXPECT_NE(signed_url->find("q=a+b%2Bc"), std::string::npos) << *signed_url;
}

TEST(sign_url, rejects_invalid_urls) {
    const std::string_view invalid_urls[] = {
        "",
        "x.test/a",
        "relative/path",
        "https:///no-authority",
        "://x.test/a",
        "1https://x.test/a",
        "ht tp://x.test/a",
        "https://x.test/a?bad=%zz",
        "https://x.test/a?truncated=%4",
        "/a?%",
    };
    for (const auto url : invalid_urls) {
        SCOPED_TRACE(url);
        const auto signed_url = sign_url(url, round_trip_secret, round_trip_now);
        ASSERT_FALSE(signed_url);
        EXPECT_EQ(signed_url.error(), errc::invalid_url);
    }
}

TEST(sign_url, rejects_empty_secret) {
    const auto signed_url = sign_url("https://x.test/a", session_token{""}, round_trip_now);
    ASSERT_FALSE(signed_url);
    EXPECT_EQ(signed_url.error(), errc::empty_secret);
}

TEST(expiry_after, adds_seconds) {
    const auto expires_at = expiry_after(sys_seconds{seconds{1000}}, seconds{-60});
    ASSERT_TRUE(expires_at);
    EXPECT_EQ(expires_at->time_since_epoch().count(), 940);
}

TEST(expiry_after, rejects_overflow) {
    const auto expires_at = expiry_after(
        sys_seconds{seconds{std::numeric_limits<std::int64_t>::max() - 10}}, seconds{11});
    ASSERT_FALSE(expires_at);
    EXPECT_EQ(expires_at.error(), errc::invalid_expiry);
}

// Builds a URL with a signature over an `exp` that sign_url cannot produce.
[[nodiscard]] std::string url_with_expiry(std::string_view exp) {
    detail::query_map parameters{{"exp", std::string{exp}}};
    const auto signature = detail::signature_for(round_trip_secret.reveal(),
                                                 detail::canonical_string("/a", parameters));
    return "https://x.test/a?exp=" + std::string{exp} + "&sig=" + signature.value_or("");
}

TEST(verify_url, expiry_beyond_64_bits_is_far_future) {
    EXPECT_EQ(
        verify_url(url_with_expiry("99999999999999999999999"), round_trip_secret, round_trip_now),
        signed_url_status::ok);
}

TEST(verify_url, negative_expiry_is_expired) {
    EXPECT_EQ(verify_url(url_with_expiry("-5"), round_trip_secret, round_trip_now),
              signed_url_status::expired);
    EXPECT_EQ(
        verify_url(url_with_expiry("-99999999999999999999999"), round_trip_secret, round_trip_now),
        signed_url_status::expired);
}

TEST(verify_url, non_integer_expiry_is_malformed) {
    for (const auto exp :
         {"", "+1900000000", "1.5e9", "0x70000000", " 1900000000", "1900000000 ", "-", "19OO"}) {
        SCOPED_TRACE(exp);
        EXPECT_EQ(verify_url(url_with_expiry(exp), round_trip_secret, round_trip_now),
                  signed_url_status::malformed);
    }
}

TEST(verify_url, parameter_order_does_not_matter) {
    const auto signed_url = sign_url("https://x.test/a?b=2&a=1", round_trip_secret, round_trip_now);
    ASSERT_TRUE(signed_url);
    const auto parts = detail::split_url(*signed_url);
    ASSERT_TRUE(parts);
    const auto parameters = detail::parse_query(parts->query);
    ASSERT_TRUE(parameters);

    std::string reversed = "/a?";
    for (auto it = parameters->rbegin(); it != parameters->rend(); ++it) {
        reversed += it->first + "=" + it->second + "&";
    }
    EXPECT_EQ(verify_url(reversed, round_trip_secret, round_trip_now), signed_url_status::ok)
        << reversed;
}

TEST(verify_url, percent_encoding_variants_verify) {
    // A browser may send a space as %20 where the signer wrote '+', or encode
    // characters the signer left alone. Both decode to the same parameters.
    const auto signed_url =
        sign_url("https://x.test/a?q=hello world&t=~x", round_trip_secret, round_trip_now);
    ASSERT_TRUE(signed_url);
    auto variant = *signed_url;
    variant.replace(variant.find("hello+world"), 11, "hello%20world");
    variant.replace(variant.find("t=~x"), 4, "t=%7ex");

    EXPECT_EQ(verify_url(variant, round_trip_secret, round_trip_now), signed_url_status::ok)
        << variant;
}

TEST(verify_url, changed_path_is_bad_signature) {
    const auto signed_url = sign_url("https://x.test/media/a", round_trip_secret, round_trip_now);
    ASSERT_TRUE(signed_url);
    auto tampered = *signed_url;
    tampered.replace(tampered.find("/media/a"), 8, "/media/b");

    EXPECT_EQ(verify_url(tampered, round_trip_secret, round_trip_now),
              signed_url_status::bad_signature);
}

TEST(verify_url, path_is_compared_as_written) {
    // The path is not decoded, because ExAtlas's algorithm signs it as written,
    // so `/a%20b` and `/a b` sign differently.
    const auto signed_url = sign_url("/a%20b", round_trip_secret, round_trip_now);
    ASSERT_TRUE(signed_url);
    auto variant = *signed_url;
    variant.replace(0, 6, "/a b");

    EXPECT_EQ(verify_url(variant, round_trip_secret, round_trip_now),
              signed_url_status::bad_signature);
}

TEST(verify_url, empty_secret_rejects_everything) {
    const auto signed_url = sign_url("https://x.test/a", round_trip_secret, round_trip_now);
    ASSERT_TRUE(signed_url);

    EXPECT_EQ(verify_url(*signed_url, session_token{""}, round_trip_now),
              signed_url_status::bad_signature);
}

}  // namespace
}  // namespace podsession::auth
