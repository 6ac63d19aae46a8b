#include "controller/kubernetes/watch_event.hpp"

#include <gtest/gtest.h>

#include "controller/kubernetes/api_error.hpp"

namespace podsession::controller::kubernetes {
namespace {

TEST(watch_event, decodes_object_events) {
    const std::pair<std::string_view, watch_event_type> cases[] = {
        {"ADDED", watch_event_type::added},
        {"MODIFIED", watch_event_type::modified},
        {"DELETED", watch_event_type::deleted},
    };
    for (const auto& [name, type] : cases) {
        SCOPED_TRACE(name);
        const auto line =
            std::string{R"({"type":")"} + std::string{name} +
            R"(","object":{"kind":"PodSession","metadata":{"name":"s1","resourceVersion":"42"}}})";
        const auto event = decode_watch_event(line);
        ASSERT_TRUE(event.has_value()) << event.error();
        EXPECT_EQ(event->type, type);
        EXPECT_EQ(event->resource_version, "42");
        EXPECT_EQ(event->object.at("metadata").at("name"), "s1");
        EXPECT_EQ(to_string(event->type), name);
    }
}

TEST(watch_event, decodes_bookmark) {
    const auto event = decode_watch_event(
        R"({"type":"BOOKMARK","object":{"kind":"PodSession","apiVersion":"podsession.io/v1alpha1",)"
        R"("metadata":{"resourceVersion":"1234","creationTimestamp":null,)"
        R"("annotations":{"k8s.io/initial-events-end":"true"}}}})");
    ASSERT_TRUE(event.has_value()) << event.error();
    EXPECT_EQ(event->type, watch_event_type::bookmark);
    EXPECT_EQ(event->resource_version, "1234");
}

TEST(watch_event, decodes_expired_error) {
    const auto event = decode_watch_event(
        R"({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},)"
        R"x("status":"Failure","message":"too old resource version: 5 (17)","reason":"Expired",)x"
        R"("code":410}})");
    ASSERT_TRUE(event.has_value()) << event.error();
    EXPECT_EQ(event->type, watch_event_type::error);
    EXPECT_EQ(event->error_code, 410u);
    EXPECT_EQ(event->error_reason, "Expired");
    EXPECT_EQ(event->error_message, "too old resource version: 5 (17)");
    EXPECT_TRUE(event->resource_version.empty());
}

TEST(watch_event, error_without_code_keeps_zero) {
    const auto event =
        decode_watch_event(R"({"type":"ERROR","object":{"kind":"Status","code":"500"}})");
    ASSERT_TRUE(event.has_value()) << event.error();
    EXPECT_EQ(event->error_code, 0u);
}

TEST(watch_event, rejects_malformed_lines) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"not json", "watch event is not JSON"},
        {R"({"type":"ADDED","object":)", "watch event is not JSON"},
        {"[1,2]", "watch event is not a JSON object"},
        {R"({"type":"SYNC","object":{}})", "unknown type \"SYNC\""},
        {R"({"object":{"metadata":{"resourceVersion":"1"}}})", "unknown type \"\""},
        {R"({"type":"ADDED"})", "watch event ADDED has no object"},
        {R"({"type":"MODIFIED","object":"text"})", "watch event MODIFIED has no object"},
        {R"({"type":"DELETED","object":{"metadata":{"name":"s1"}}})",
         "watch event DELETED has no metadata.resourceVersion"},
        {R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":7}}})",
         "watch event BOOKMARK has no metadata.resourceVersion"},
    };
    for (const auto& [line, expected] : cases) {
        SCOPED_TRACE(line);
        const auto event = decode_watch_event(line);
        ASSERT_FALSE(event.has_value());
        EXPECT_NE(event.error().find(expected), std::string::npos) << event.error();
    }
}

TEST(api_error, classifies_statuses) {
    const std::pair<unsigned, errc> cases[] = {
        {400, errc::bad_request}, {401, errc::unauthorized}, {403, errc::forbidden},
        {404, errc::not_found},   {409, errc::conflict},     {410, errc::gone},
        {422, errc::invalid},     {429, errc::rate_limited}, {500, errc::unavailable},
        {503, errc::unavailable}, {504, errc::unavailable},  {418, errc::unexpected_status},
    };
    for (const auto& [status, code] : cases) {
        SCOPED_TRACE(status);
        const auto error = classify_response(status, "", "");
        EXPECT_TRUE(error.is(code)) << error.describe();
        EXPECT_EQ(error.http_status, status);
        EXPECT_EQ(error.is_retryable(), code == errc::rate_limited || code == errc::unavailable);
    }
}

TEST(api_error, reads_status_object) {
    const auto error = classify_response(
        409,
        R"({"kind":"Status","apiVersion":"v1","status":"Failure","reason":"AlreadyExists",)"
        R"("message":"secrets \"s1-podsession\" already exists","code":409})",
        "");
    EXPECT_TRUE(error.is(errc::already_exists));
    EXPECT_EQ(error.reason, "AlreadyExists");
    EXPECT_EQ(error.message, "secrets \"s1-podsession\" already exists");
    EXPECT_EQ(error.describe(),
              "status=409 reason=AlreadyExists message=\"secrets \\\"s1-podsession\\\" already "
              "exists\"");
}

TEST(api_error, reads_retry_after) {
    const auto from_header = classify_response(429, "{}", "3");
    ASSERT_TRUE(from_header.retry_after.has_value());
    EXPECT_EQ(*from_header.retry_after, std::chrono::seconds{3});

    const auto from_body = classify_response(
        429, R"({"kind":"Status","reason":"TooManyRequests","details":{"retryAfterSeconds":2}})",
        "");
    ASSERT_TRUE(from_body.retry_after.has_value());
    EXPECT_EQ(*from_body.retry_after, std::chrono::seconds{2});

    EXPECT_FALSE(classify_response(429, "", "Wed, 21 Oct 2015 07:28:00 GMT").retry_after);
}

TEST(api_error, keeps_excerpt_of_other_bodies) {
    const auto error = classify_response(502, std::string(1000, 'x'), "");
    EXPECT_EQ(error.message.size(), 200u);
}

}  // namespace
}  // namespace podsession::controller::kubernetes
