#include "crd/status_codec.hpp"

#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>
#include <boost/system/errc.hpp>

#include "tests/crd/alias_bomb.hpp"

namespace podsession::crd {
namespace {

using namespace std::chrono;

pod_session_status full_status() {
    const timestamp at = sys_days{year{2026} / December / 4} + hours{19};
    pod_session_status status;
    status.phase = session_phase::running;
    status.pod_id = "7h9k2m4n6p";
    status.pod_name = "psn-default-apps-user-42-1a2b3c4d";
    status.gpu_type = "NVIDIA H100 80GB HBM3";
    status.cost_per_hour = 2.99;
    status.endpoints = {{8000, port_protocol::http, "https://7h9k2m4n6p-8000.proxy.runpod.net"},
                        {22, port_protocol::tcp, "tcp://195.26.233.3:34446"}};
    status.token_file = "/sessions/.status/apps/user-42.token";
    status.created_at = at;
    status.ready_at = at + minutes{3};
    status.last_touched = at + minutes{10};
    status.expires_at = at + minutes{25};
    status.create_requested_at = at - seconds{1};
    status.observed_generation = 2;
    status.conditions = {{"Ready", "True", "PodRunning", "", at + minutes{3}}};
    return status;
}

TEST(status_codec, encodes_api_field_names) {
    const auto encoded = boost::json::serialize(encode_status(full_status()));
    EXPECT_NE(encoded.find(R"("phase":"Running")"), std::string::npos);
    EXPECT_NE(encoded.find(R"("costPerHour":"2.99")"), std::string::npos);
    EXPECT_NE(encoded.find(R"("readyAt":"2026-12-04T19:03:00Z")"), std::string::npos);
    EXPECT_NE(encoded.find(R"("url":"https://7h9k2m4n6p-8000.proxy.runpod.net")"),
              std::string::npos);
    EXPECT_EQ(encoded.find("reason\":\"\""), std::string::npos);
    EXPECT_EQ(encoded.find("terminatedAt"), std::string::npos);
}

TEST(status_codec, round_trips_through_json) {
    const auto original = full_status();
    const auto decoded = decode_status(encode_status(original));
    EXPECT_EQ(decoded.phase, original.phase);
    EXPECT_EQ(decoded.pod_id, original.pod_id);
    EXPECT_EQ(decoded.cost_per_hour, original.cost_per_hour);
    ASSERT_EQ(decoded.endpoints.size(), 2u);
    EXPECT_EQ(decoded.endpoints[1].protocol, port_protocol::tcp);
    EXPECT_EQ(decoded.endpoints[1].port, 22);
    EXPECT_EQ(decoded.ready_at, original.ready_at);
    EXPECT_EQ(decoded.create_requested_at, original.create_requested_at);
    EXPECT_EQ(decoded.observed_generation, 2);
    ASSERT_EQ(decoded.conditions.size(), 1u);
    EXPECT_EQ(decoded.conditions[0].reason, "PodRunning");
}

TEST(status_codec, round_trips_through_the_status_file) {
    object_meta metadata;
    metadata.name = "user-42";
    metadata.namespace_name = "apps";
    metadata.uid = "3f1c9e2a-5b7d-4e8f-9a0b-1c2d3e4f5a6b";
    const auto text = encode_status_file(metadata, full_status());
    EXPECT_NE(text.find("costPerHour: \"2.99\""), std::string::npos) << text;

    const auto decoded = decode_status_file(text);
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(decoded->metadata.uid, metadata.uid);
    EXPECT_EQ(decoded->metadata.namespace_name, "apps");
    EXPECT_EQ(decoded->status.cost_per_hour, 2.99);
    EXPECT_EQ(decoded->status.expires_at, full_status().expires_at);
}

TEST(status_codec, rejects_status_files_without_uid) {
    EXPECT_FALSE(decode_status_file("metadata: {name: x}\nstatus: {}\n").has_value());
    EXPECT_FALSE(decode_status_file("{{{").has_value());
}

TEST(status_codec, rejects_alias_bomb_quickly) {
    // Converting this to JSON would copy 10^12 scalars, so it must fail before.
    const std::string text = "metadata: {name: x, uid: 3f1c9e2a-5b7d-4e8f-9a0b-1c2d3e4f5a6b}\n" +
                             testing::alias_bomb_entries() +
                             "status: {phase: Running, conditions: *a11}\n";
    const auto start = std::chrono::steady_clock::now();
    const auto decoded = decode_status_file(text);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(decoded.has_value());
    EXPECT_EQ(decoded.error(), boost::system::errc::value_too_large);
    EXPECT_EQ(describe_status_file_error(decoded.error()),
              "anchors and aliases expand it too far (past 100000 nodes or 16777216 bytes of "
              "text, or into a cycle), and the controller writes no aliases");
    EXPECT_LT(elapsed, seconds{2});

    // yaml-cpp would build a cycle, and the conversion to JSON would recurse
    // until the stack overflows.
    const auto cycle = decode_status_file(
        "metadata: {name: x, uid: 3f1c9e2a-5b7d-4e8f-9a0b-1c2d3e4f5a6b}\n"
        "status: &s {phase: Running, loop: *s}\n");
    ASSERT_FALSE(cycle.has_value());
    EXPECT_EQ(cycle.error(), boost::system::errc::value_too_large);

    // A plain alias is read as before.
    const auto aliased = decode_status_file(
        "metadata: {name: &n x, uid: 3f1c9e2a-5b7d-4e8f-9a0b-1c2d3e4f5a6b}\n"
        "status: {phase: Running, podId: *n}\n");
    ASSERT_TRUE(aliased.has_value());
    EXPECT_EQ(aliased->status.pod_id, "x");
}

TEST(status_codec, formats_usd_as_decimal_strings) {
    EXPECT_EQ(format_usd(2.99), "2.99");
    EXPECT_EQ(format_usd(0.44 * 2), "0.88");
    EXPECT_EQ(format_usd(1.5), "1.50");
    EXPECT_EQ(format_usd(0.875), "0.875");
    EXPECT_EQ(format_usd(0), "0.00");
    EXPECT_EQ(format_usd(3.99 * 8), "31.92");
    EXPECT_EQ(format_usd(0.12345), "0.1235");
}

}  // namespace
}  // namespace podsession::crd
