// Built without any podsession library and linked with libcrypto only, so the
// build itself proves that auth/verifier.hpp needs nothing else of the project.
#include "auth/verifier.hpp"

#include <stdlib.h>

#include <chrono>
#include <ostream>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace podsession::auth {

// Prints statuses by name in failure messages.
void PrintTo(bearer_status status, std::ostream* out) {
    *out << to_string(status);
}
void PrintTo(signed_url_status status, std::ostream* out) {
    *out << to_string(status);
}

namespace {

using std::chrono::seconds;
using std::chrono::sys_seconds;

constexpr std::string_view token = "q1w2e3r4t5y6u7i8o9p0-_ASDFGHJKLZXCVBNMqwert";

struct bearer_case {
    std::string header;
    bearer_status expected;
};

TEST(check_bearer, header_forms) {
    const std::string bearer_token = "Bearer " + std::string{token};
    const bearer_case cases[] = {
        // Accepted: the scheme in any case, several spaces, surrounding OWS.
        {bearer_token, bearer_status::ok},
        {"bearer " + std::string{token}, bearer_status::ok},
        {"BEARER " + std::string{token}, bearer_status::ok},
        {"Bearer    " + std::string{token}, bearer_status::ok},
        {" \tBearer " + std::string{token} + " \t", bearer_status::ok},
        // No credentials at all.
        {"", bearer_status::missing},
        {"   ", bearer_status::missing},
        {"\t", bearer_status::missing},
        // Other schemes, and prefixes that only look like Bearer.
        {"Basic dXNlcjpwYXNzd29yZA==", bearer_status::other_scheme},
        {"Digest username=\"a\"", bearer_status::other_scheme},
        {std::string{token}, bearer_status::other_scheme},
        {"Bearer" + std::string{token}, bearer_status::other_scheme},
        {"Bearer:" + std::string{token}, bearer_status::other_scheme},
        {"Bearer: " + std::string{token}, bearer_status::other_scheme},
        {"Bearers " + std::string{token}, bearer_status::other_scheme},
        {"Token " + std::string{token}, bearer_status::other_scheme},
        {"Bearer," + std::string{token}, bearer_status::other_scheme},
        // Bearer with a blank or malformed token.
        {"Bearer", bearer_status::malformed},
        {"Bearer ", bearer_status::malformed},
        {"Bearer    ", bearer_status::malformed},
        {"Bearer\t" + std::string{token}, bearer_status::malformed},
        {"Bearer " + std::string{token} + " extra", bearer_status::malformed},
        {"Bearer q1w2 e3r4", bearer_status::malformed},
        {"Bearer ===", bearer_status::malformed},
        {"Bearer a=b", bearer_status::malformed},
        {"Bearer \"" + std::string{token} + "\"", bearer_status::malformed},
        {"Bearer " + std::string{token} + ",", bearer_status::malformed},
        {"Bearer tok\xc3\xa9n", bearer_status::malformed},
        {"Bearer " + std::string{token} + std::string(1, '\0'), bearer_status::malformed},
        // Well-formed tokens that are not the pod's.
        {"Bearer other-token", bearer_status::mismatch},
        {"Bearer " + std::string{token} + "=", bearer_status::mismatch},
        {"Bearer " + std::string{token} + "x", bearer_status::mismatch},
        {"Bearer " + std::string{token.substr(0, 42)}, bearer_status::mismatch},
        {"Bearer Q1w2e3r4t5y6u7i8o9p0-_ASDFGHJKLZXCVBNMqwert", bearer_status::mismatch},
        {"Bearer a+b/c==", bearer_status::mismatch},
    };
    for (const auto& [header, expected] : cases) {
        SCOPED_TRACE(testing::Message() << "header \"" << header << "\"");
        EXPECT_EQ(check_bearer(header, token), expected);
    }
}

TEST(check_bearer, empty_expected_token_rejects_everything) {
    EXPECT_EQ(check_bearer("Bearer x", ""), bearer_status::mismatch);
    EXPECT_EQ(check_bearer("Bearer", ""), bearer_status::malformed);
}

TEST(check_bearer, status_names) {
    EXPECT_EQ(to_string(bearer_status::ok), "ok");
    EXPECT_EQ(to_string(bearer_status::missing), "missing");
    EXPECT_EQ(to_string(bearer_status::other_scheme), "other_scheme");
    EXPECT_EQ(to_string(bearer_status::malformed), "malformed");
    EXPECT_EQ(to_string(bearer_status::mismatch), "mismatch");
}

TEST(verify_signed_url, status_names_match_exatlas) {
    EXPECT_EQ(to_string(signed_url_status::ok), "ok");
    EXPECT_EQ(to_string(signed_url_status::malformed), "malformed");
    EXPECT_EQ(to_string(signed_url_status::expired), "expired");
    EXPECT_EQ(to_string(signed_url_status::bad_signature), "bad_signature");
}

// The first ExAtlas vector, signed with this secret at 1747000000 + 3600.
constexpr std::string_view vector_secret = "test-secret-test-secret-test-secret";
constexpr std::string_view vector_target =
    "/stream/session-42?exp=1747003600&sig=R1MEkzI_4SrzJ3czIhjrhMDtVxLE0UgQHosWtdUP1A4";
const sys_seconds vector_now{seconds{1747000000}};

TEST(verify_signed_url, request_target_forms) {
    const std::string target{vector_target};
    struct target_case {
        std::string target;
        signed_url_status expected;
    };
    const target_case cases[] = {
        {target, signed_url_status::ok},
        {"http://abc123-8000.proxy.runpod.net" + target, signed_url_status::ok},
        {"HTTPS://anything.example:443" + target, signed_url_status::ok},
        {target + "#fragment", signed_url_status::ok},
        {target + "&", signed_url_status::ok},
        {"/stream/session-42?sig=R1MEkzI_4SrzJ3czIhjrhMDtVxLE0UgQHosWtdUP1A4&exp=1747003600",
         signed_url_status::ok},
        {target + "&exp=1747003600", signed_url_status::ok},
        {target + "&extra=1", signed_url_status::bad_signature},
        {target + "&sig=AAAA", signed_url_status::bad_signature},
        {"/stream/session-42/?exp=1747003600&sig=R1MEkzI_4SrzJ3czIhjrhMDtVxLE0UgQHosWtdUP1A4",
         signed_url_status::bad_signature},
        {"/stream/session-42?exp=1747003600&sig=", signed_url_status::bad_signature},
        {"/stream/session-42?exp=1747003600&sig", signed_url_status::bad_signature},
        {"/stream/session-42", signed_url_status::malformed},
        {"/stream/session-42?exp=1747003600", signed_url_status::malformed},
        {"stream/session-42?exp=1747003600&sig=x", signed_url_status::malformed},
        {"", signed_url_status::malformed},
        {"*", signed_url_status::malformed},
        {target + "&bad=%G0", signed_url_status::malformed},
        {"/stream/session-42?exp=1747003600&sig=%", signed_url_status::malformed},
    };
    for (const auto& [request_target, expected] : cases) {
        SCOPED_TRACE(request_target);
        EXPECT_EQ(verify_signed_url(request_target, vector_secret, vector_now), expected);
    }
}

TEST(verify_signed_url, expiry_boundary) {
    EXPECT_EQ(verify_signed_url(vector_target, vector_secret, sys_seconds{seconds{1747003599}}),
              signed_url_status::ok);
    EXPECT_EQ(verify_signed_url(vector_target, vector_secret, sys_seconds{seconds{1747003600}}),
              signed_url_status::ok);
    EXPECT_EQ(verify_signed_url(vector_target, vector_secret, sys_seconds{seconds{1747003601}}),
              signed_url_status::expired);
}

TEST(verify_signed_url, expired_before_signature_check) {
    // The expiry check comes before the signature check, as in ExAtlas's algorithm.
    EXPECT_EQ(verify_signed_url("/a?exp=1&sig=wrong", vector_secret, vector_now),
              signed_url_status::expired);
}

TEST(verify_signed_url, empty_secret_is_bad_signature) {
    EXPECT_EQ(verify_signed_url(vector_target, "", vector_now), signed_url_status::bad_signature);
}

TEST(split_url, parts) {
    const auto absolute = detail::split_url("https://h.test:8443/p/q?a=1&b=2#frag?x");
    ASSERT_TRUE(absolute);
    EXPECT_EQ(absolute->origin, "https://h.test:8443");
    EXPECT_EQ(absolute->path, "/p/q");
    EXPECT_EQ(absolute->query, "a=1&b=2");
    EXPECT_EQ(absolute->fragment, "frag?x");

    const auto no_path = detail::split_url("http://h.test?a=1");
    ASSERT_TRUE(no_path);
    EXPECT_EQ(no_path->origin, "http://h.test");
    EXPECT_EQ(no_path->path, "");
    EXPECT_EQ(no_path->query, "a=1");
    EXPECT_EQ(no_path->fragment, std::nullopt);

    const auto target = detail::split_url("/only/path");
    ASSERT_TRUE(target);
    EXPECT_EQ(target->origin, "");
    EXPECT_EQ(target->path, "/only/path");
    EXPECT_EQ(target->query, "");
}

TEST(form_decode, plus_and_percent) {
    EXPECT_EQ(detail::form_decode("a+b%20c%2Bd%2b"), "a b c+d+");
    EXPECT_EQ(detail::form_decode("%E6%9D%B1%e4%ba%ac"), "\xe6\x9d\xb1\xe4\xba\xac");
    EXPECT_EQ(detail::form_decode("%00"), std::string(1, '\0'));
    EXPECT_EQ(detail::form_decode(""), "");
    for (const auto bad : {"%", "%4", "a%", "%G1", "%1G", "%%41", "% 1"}) {
        SCOPED_TRACE(bad);
        EXPECT_EQ(detail::form_decode(bad), std::nullopt);
    }
}

TEST(form_encode, every_byte_round_trips) {
    std::string all_bytes;
    for (int byte = 0; byte < 256; ++byte) {
        all_bytes += static_cast<char>(byte);
    }
    std::string encoded;
    detail::form_encode(all_bytes, encoded);

    for (const char c : encoded) {
        ASSERT_TRUE(detail::is_unreserved(c) || c == '+' || c == '%') << static_cast<int>(c);
    }
    EXPECT_EQ(detail::form_decode(encoded), all_bytes);
}

TEST(form_encode, alphabet) {
    std::string encoded;
    detail::form_encode("AZaz09-._~ /+=&%\xc3\xa9*", encoded);
    EXPECT_EQ(encoded, "AZaz09-._~+%2F%2B%3D%26%25%C3%A9%2A");
}

TEST(parse_query, last_value_wins_and_keys_sort_bytewise) {
    const auto parameters = detail::parse_query("b=1&a=2&b=3&%C3%A9=4&Z=5&&flag");
    ASSERT_TRUE(parameters);
    EXPECT_EQ(detail::encode_query(*parameters), "Z=5&a=2&b=3&flag=&%C3%A9=4");
}

TEST(pod_verifier, unset_variables_disable_checks) {
    const pod_verifier verifier{std::nullopt, std::nullopt};
    EXPECT_FALSE(verifier.requires_bearer());
    EXPECT_FALSE(verifier.requires_signed_url());
    EXPECT_EQ(verifier.check_bearer(""), bearer_status::ok);
    EXPECT_EQ(verifier.check_signed_target("/media/x", vector_now), signed_url_status::ok);
}

TEST(pod_verifier, set_variables_enable_checks) {
    const pod_verifier verifier{std::string{token}, std::string{vector_secret}};
    EXPECT_TRUE(verifier.requires_bearer());
    EXPECT_TRUE(verifier.requires_signed_url());
    EXPECT_EQ(verifier.check_bearer(""), bearer_status::missing);
    EXPECT_EQ(verifier.check_bearer("Bearer " + std::string{token}), bearer_status::ok);
    EXPECT_EQ(verifier.check_signed_target("/media/x", vector_now), signed_url_status::malformed);
    EXPECT_EQ(verifier.check_signed_target(vector_target, vector_now), signed_url_status::ok);
}

TEST(pod_verifier, empty_variables_fail_closed) {
    const pod_verifier verifier{std::string{}, std::string{}};
    EXPECT_TRUE(verifier.requires_bearer());
    EXPECT_TRUE(verifier.requires_signed_url());
    EXPECT_EQ(verifier.check_bearer("Bearer x"), bearer_status::mismatch);
    EXPECT_EQ(verifier.check_signed_target(vector_target, vector_now),
              signed_url_status::bad_signature);
}

TEST(pod_verifier, reads_standard_env_vars) {
    ASSERT_EQ(::setenv("ATLAS_PRESHARED_KEY", std::string{token}.c_str(), 1), 0);
    ASSERT_EQ(::setenv("ATLAS_SIGNING_SECRET", std::string{vector_secret}.c_str(), 1), 0);
    const auto verifier = pod_verifier::from_environment();
    ::unsetenv("ATLAS_PRESHARED_KEY");
    ::unsetenv("ATLAS_SIGNING_SECRET");

    EXPECT_EQ(verifier.check_bearer("Bearer " + std::string{token}), bearer_status::ok);
    EXPECT_EQ(verifier.check_bearer("Bearer other"), bearer_status::mismatch);
    EXPECT_EQ(verifier.check_signed_target(vector_target, vector_now), signed_url_status::ok);

    const auto unset = pod_verifier::from_environment();
    EXPECT_FALSE(unset.requires_bearer());
    EXPECT_FALSE(unset.requires_signed_url());
}

TEST(pod_verifier, clock_overload_uses_system_time) {
    // The vector expired in 2025, so the system clock must find it expired.
    const pod_verifier verifier{std::nullopt, std::string{vector_secret}};
    EXPECT_EQ(verifier.check_signed_target(vector_target), signed_url_status::expired);
}

}  // namespace
}  // namespace podsession::auth
