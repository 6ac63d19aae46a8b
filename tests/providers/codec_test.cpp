#include "providers/runpod/codec.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace podsession::providers::runpod {
namespace {

namespace json = boost::json;

create_pod_request minimal_request() {
    create_pod_request request;
    request.name = "psn-a-default-user-1-0123abcd";
    request.image = "ghcr.io/me/inference:latest";
    request.gpu_type_id = "NVIDIA H100 80GB HBM3";
    return request;
}

TEST(encode_create_request, writes_only_known_keys) {
    const auto body = json::parse(encode_create_request(minimal_request())).as_object();

    EXPECT_EQ(body.size(), 5U);
    EXPECT_EQ(body.at("name"), "psn-a-default-user-1-0123abcd");
    EXPECT_EQ(body.at("image"), "ghcr.io/me/inference:latest");
    EXPECT_EQ(body.at("gpu"), (json::object{{"id", "NVIDIA H100 80GB HBM3"}, {"count", 1}}));
    EXPECT_EQ(body.at("cloud"), "SECURE");
    EXPECT_EQ(body.at("disk"), 50);
}

TEST(encode_create_request, writes_optional_keys_when_set) {
    auto request = minimal_request();
    request.gpu_count = 2;
    request.cloud = crd::cloud_type::community;
    request.data_center_ids = {"EU-RO-1"};
    request.ports = {"8000/http", "22/tcp"};
    request.env = {{"MODEL", "llama-3"}, {"PODSESSION_UID", "uid-1"}};
    request.volume_gb = 20;
    request.min_cuda_version = "12.4";

    const auto body = json::parse(encode_create_request(request)).as_object();

    EXPECT_EQ(
        body.at("gpu"),
        (json::object{{"id", "NVIDIA H100 80GB HBM3"}, {"count", 2}, {"minCudaVersion", "12.4"}}));
    EXPECT_EQ(body.at("cloud"), "COMMUNITY");
    EXPECT_EQ(body.at("dataCenterIds"), (json::array{"EU-RO-1"}));
    EXPECT_EQ(body.at("ports"), (json::array{"8000/http", "22/tcp"}));
    EXPECT_EQ(body.at("env"), (json::object{{"MODEL", "llama-3"}, {"PODSESSION_UID", "uid-1"}}));
    EXPECT_EQ(body.at("mounts"),
              (json::object{{"persistent", json::object{{"size", 20}, {"path", "/workspace"}}}}));
}

TEST(encode_create_request, keeps_awkward_env_values_exact) {
    auto request = minimal_request();
    const std::string awkward = "a=b=c \"quoted\" 'single' \\ back tab\t é 中文 🚀";
    request.env = {{"AWKWARD", awkward}};

    const auto body = json::parse(encode_create_request(request)).as_object();

    EXPECT_EQ(body.at("env").as_object().at("AWKWARD").as_string(), awkward);
}

constexpr std::string_view running_pod = R"({
  "id": "7h9k2m4n6p", "name": "psn-a-apps-user-42-1a2b3c4d", "image": "img", "args": "",
  "disk": 50, "ports": ["8000/http", "22/tcp"],
  "env": {"PODSESSION_UID": "uid-42", "ATLAS_PRESHARED_KEY": "secret-token"},
  "registry": null, "status": "RUNNING", "actions": ["stop", "restart", "terminate"],
  "mounts": {}, "gpu": {"id": "NVIDIA GeForce RTX 4090", "count": 2}, "cloud": "SECURE",
  "dataCenterId": "US-KS-2", "cudaVersion": "12.8", "ssh": {"proxy": null, "direct": null},
  "template": null, "cost": 0.88, "locked": false, "globalNetworking": {"enabled": false},
  "runtime": {"uptime": 3600, "ports": [
      {"private": 8000, "public": null, "type": "http", "ip": null},
      {"private": 22, "public": 34446, "type": "tcp", "ip": "195.26.233.3"}]},
  "createdAt": "2026-06-01T12:00:00Z", "startedAt": "2026-06-01T12:02:00Z",
  "someFutureField": {"nested": [1, 2, 3]}
})";

TEST(decode_pod, reads_a_running_pod) {
    const auto pod = decode_pod(running_pod);

    ASSERT_TRUE(pod) << pod.error().message;
    EXPECT_EQ(pod->id, "7h9k2m4n6p");
    EXPECT_EQ(pod->name, "psn-a-apps-user-42-1a2b3c4d");
    EXPECT_EQ(pod->status, crd::pod_status::running);
    EXPECT_EQ(pod->gpu_type, "NVIDIA GeForce RTX 4090");
    EXPECT_EQ(pod->gpu_count, 2);
    EXPECT_DOUBLE_EQ(pod->cost_per_hour, 0.88);
    EXPECT_EQ(pod->created_at, crd::parse_rfc3339("2026-06-01T12:00:00Z"));
    EXPECT_EQ(pod->started_at, crd::parse_rfc3339("2026-06-01T12:02:00Z"));
    EXPECT_EQ(pod->session_uid, "uid-42");
    ASSERT_EQ(pod->ports.size(), 2U);
    EXPECT_EQ(pod->ports[0].private_port, 8000);
    EXPECT_FALSE(pod->ports[0].public_port);
    EXPECT_EQ(pod->ports[1].public_port, 34446);
    EXPECT_EQ(pod->ports[1].ip, "195.26.233.3");
    EXPECT_EQ(pod->ports[1].type, "tcp");
}

TEST(decode_pod, reads_integer_cost_and_null_runtime) {
    const auto pod = decode_pod(
        R"({"id": "x1", "status": "PROVISIONING", "cost": 3, "runtime": null, "startedAt": null})");

    ASSERT_TRUE(pod) << pod.error().message;
    EXPECT_DOUBLE_EQ(pod->cost_per_hour, 3.0);
    EXPECT_TRUE(pod->ports.empty());
    EXPECT_FALSE(pod->started_at);
    EXPECT_FALSE(pod->session_uid);
}

TEST(decode_pod, keeps_unknown_status_as_unknown) {
    const auto pod = decode_pod(R"({"id": "x1", "status": "HIBERNATING"})");
    ASSERT_TRUE(pod);
    EXPECT_EQ(pod->status, crd::pod_status::unknown);
}

TEST(decode_pod, rejects_documents_without_id) {
    for (const char* body : {"", "[]", "{}", R"({"id": 7})", R"({"id": ""})", "{broken"}) {
        SCOPED_TRACE(body);
        EXPECT_FALSE(decode_pod(body));
    }
}

TEST(decode_pod_list, fails_whole_list_on_one_bad_pod) {
    const auto listed = decode_pod_list(R"({"pods": [{"id": "a"}, {"name": "no id"}]})");
    ASSERT_FALSE(listed);
    EXPECT_NE(listed.error().message.find("pods[1]"), std::string::npos);
}

TEST(decode_pod_list, reads_empty_and_full_lists) {
    const auto empty = decode_pod_list(R"({"pods": []})");
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->empty());
    const auto two = decode_pod_list(R"({"pods": [{"id": "a"}, {"id": "b"}], "next": null})");
    ASSERT_TRUE(two);
    EXPECT_EQ(two->size(), 2U);
    EXPECT_FALSE(decode_pod_list(R"({"items": []})"));
}

TEST(decode_problem, reads_title_detail_and_errors) {
    const auto problem = decode_problem(
        R"({"title": "Unprocessable Entity", "status": 422, "detail": "Request validation failed.",
            "errors": ["$: additional properties 'bogus' not allowed", 5]})");
    ASSERT_TRUE(problem);
    EXPECT_EQ(problem->title, "Unprocessable Entity");
    EXPECT_EQ(problem->detail, "Request validation failed.");
    EXPECT_EQ(problem->errors,
              (std::vector<std::string>{"$: additional properties 'bogus' not allowed"}));
    EXPECT_FALSE(decode_problem("<html>bad gateway</html>"));
}

}  // namespace
}  // namespace podsession::providers::runpod
