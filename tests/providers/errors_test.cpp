#include "providers/runpod/errors.hpp"

#include <gtest/gtest.h>

#include "net/error.hpp"

namespace podsession::providers::runpod {
namespace {

net::response problem_response(unsigned status, std::string detail) {
    net::response response;
    response.status = status;
    response.headers.set(net::http::field::content_type, "application/problem+json");
    response.body = R"({"title": "t", "status": )" + std::to_string(status) + R"(, "detail": ")" +
                    detail + R"("})";
    return response;
}

struct status_case {
    api_operation operation;
    unsigned status;
    errc expected;
};

TEST(classify_response, maps_each_status_per_operation) {
    const status_case cases[] = {
        {api_operation::create_pod, 400, errc::capacity},
        {api_operation::get_pod, 400, errc::invalid_request},
        {api_operation::create_pod, 401, errc::unauthorized},
        {api_operation::list_pods, 401, errc::unauthorized},
        {api_operation::create_pod, 402, errc::payment_required},
        {api_operation::list_pods, 403, errc::forbidden},
        {api_operation::get_pod, 404, errc::not_found},
        {api_operation::delete_pod, 404, errc::not_found},
        {api_operation::create_pod, 404, errc::invalid_request},
        {api_operation::delete_pod, 409, errc::conflict},
        {api_operation::create_pod, 422, errc::invalid_request},
        {api_operation::list_pods, 429, errc::rate_limited},
        {api_operation::create_pod, 429, errc::rate_limited},
        {api_operation::create_pod, 500, errc::unknown_outcome},
        {api_operation::create_pod, 503, errc::unknown_outcome},
        {api_operation::list_pods, 500, errc::transient},
        {api_operation::get_pod, 502, errc::transient},
        {api_operation::delete_pod, 504, errc::transient},
        {api_operation::list_pods, 418, errc::invalid_request},
    };
    for (const auto& row : cases) {
        SCOPED_TRACE(std::string{to_string(row.operation)} + " " + std::to_string(row.status));
        const auto error = classify_response(row.operation, problem_response(row.status, "d"), {});
        EXPECT_TRUE(error.is(row.expected)) << error.code.message();
        EXPECT_EQ(error.http_status, static_cast<int>(row.status));
    }
}

TEST(classify_response, message_carries_detail_and_details_carry_errors) {
    net::response response;
    response.status = 422;
    response.body = R"({"title": "Unprocessable Entity", "status": 422,
        "detail": "Request validation failed.",
        "errors": ["$.mounts.persistent.size: must be at least 10"]})";

    const auto error = classify_response(api_operation::create_pod, response, {});

    EXPECT_EQ(error.message, "RunPod createPod returned HTTP 422: Request validation failed.");
    EXPECT_EQ(error.details,
              (std::vector<std::string>{"$.mounts.persistent.size: must be at least 10"}));
}

TEST(classify_response, reads_retry_after_or_exhausted_window) {
    auto response = problem_response(429, "rate limit exceeded");
    response.headers.set("Retry-After", "12");
    EXPECT_EQ(classify_response(api_operation::list_pods, response, {}).retry_after,
              std::chrono::seconds{12});

    auto without = problem_response(429, "rate limit exceeded");
    without.headers.set("RateLimit", R"("minute";r=0;t=7, "hour";r=100;t=900)");
    EXPECT_EQ(classify_response(api_operation::list_pods, without, {}).retry_after,
              std::chrono::seconds{7});
}

TEST(classify_response, redacts_key_and_env_values) {
    net::response response;
    response.status = 422;
    response.body = R"({"title": "x", "status": 422,
        "detail": "key rpa_SECRETKEY rejected; value tok-123456 and 1 and 10",
        "errors": ["$.env.TOKEN: tok-123456 is invalid"]})";
    const redactor secrets{{"rpa_SECRETKEY", "tok-123456", "1"}};

    const auto error = classify_response(api_operation::create_pod, response, secrets);

    EXPECT_EQ(error.message.find("rpa_SECRETKEY"), std::string::npos);
    EXPECT_EQ(error.message.find("tok-123456"), std::string::npos);
    // A short value is redacted only as a whole word: 10 and 422 stay readable.
    EXPECT_NE(error.message.find("and [redacted] and 10"), std::string::npos) << error.message;
    EXPECT_NE(error.message.find("HTTP 422"), std::string::npos);
    ASSERT_EQ(error.details.size(), 1U);
    EXPECT_EQ(error.details[0], "$.env.TOKEN: [redacted] is invalid");
}

TEST(classify_transport, create_is_unknown_outcome_unless_never_sent) {
    using net::errc;
    EXPECT_TRUE(classify_transport(api_operation::create_pod, errc::timeout)
                    .is(providers::errc::unknown_outcome));
    EXPECT_TRUE(classify_transport(api_operation::create_pod, errc::connection_reset)
                    .is(providers::errc::unknown_outcome));
    EXPECT_TRUE(classify_transport(api_operation::create_pod, errc::protocol_error)
                    .is(providers::errc::unknown_outcome));
    EXPECT_TRUE(classify_transport(api_operation::create_pod, errc::connect_failed)
                    .is(providers::errc::transient));
    EXPECT_TRUE(classify_transport(api_operation::create_pod, errc::tls_failure)
                    .is(providers::errc::transient));
    for (const auto operation :
         {api_operation::list_pods, api_operation::get_pod, api_operation::delete_pod}) {
        SCOPED_TRACE(to_string(operation));
        EXPECT_TRUE(classify_transport(operation, errc::timeout).is(providers::errc::transient));
        EXPECT_TRUE(
            classify_transport(operation, errc::connection_reset).is(providers::errc::transient));
    }
}

TEST(malformed_response, create_is_unknown_outcome_reads_are_transient) {
    EXPECT_TRUE(malformed_response(api_operation::create_pod, 201, "x").is(errc::unknown_outcome));
    EXPECT_TRUE(malformed_response(api_operation::list_pods, 200, "x").is(errc::transient));
}

}  // namespace
}  // namespace podsession::providers::runpod
