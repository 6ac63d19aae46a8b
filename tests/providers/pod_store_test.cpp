#include "providers/simulated/pod_store.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace podsession::providers::simulated {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::string_view create_body = R"({
    "name": "psn-a-default-user-1-0123abcd", "image": "img",
    "gpu": {"id": "NVIDIA GeForce RTX 4090", "count": 2},
    "ports": ["8000/http", "22/tcp"], "env": {"PODSESSION_UID": "uid-1"}, "disk": 20})";

class pod_store_test : public ::testing::Test {
  protected:
    pod_store_test() {
        options_.now = [this] { return now_; };
        options_.schedule = boot_schedule{10s, 20s};
        options_.seed = 42;
        store_ = std::make_unique<pod_store>(options_);
    }

    // Creates a pod from `body` and returns its JSON.
    json::object create(std::string_view body = create_body) {
        const auto created = store_->create(body);
        EXPECT_EQ(created.status, 201U) << created.body;
        return json::parse(created.body).as_object();
    }

    json::object get(std::string_view id) {
        const auto found = store_->get(id);
        EXPECT_EQ(found.status, 200U) << found.body;
        return json::parse(found.body).as_object();
    }

    sim_clock::time_point now_ = sim_clock::time_point{} + std::chrono::hours{24 * 365 * 56};
    store_options options_;
    std::unique_ptr<pod_store> store_;
};

TEST_F(pod_store_test, new_pod_boots_on_schedule) {
    const auto pod = create();
    const std::string id{pod.at("id").as_string()};
    EXPECT_EQ(pod.at("status"), "PROVISIONING");
    EXPECT_TRUE(pod.at("runtime").is_null());
    EXPECT_TRUE(pod.at("startedAt").is_null());
    EXPECT_EQ(pod.at("actions"), (json::array{"stop", "terminate"}));

    now_ += 10s;
    EXPECT_EQ(get(id).at("status"), "STARTING");
    EXPECT_TRUE(get(id).at("runtime").is_null());

    now_ += 20s;
    const auto running = get(id);
    EXPECT_EQ(running.at("status"), "RUNNING");
    EXPECT_EQ(running.at("actions"), (json::array{"stop", "restart", "terminate"}));
    EXPECT_FALSE(running.at("startedAt").is_null());
    const auto& ports = running.at("runtime").at("ports").as_array();
    ASSERT_EQ(ports.size(), 2U);
    EXPECT_EQ(ports[0].at("type"), "http");
    EXPECT_TRUE(ports[0].at("public").is_null());
    EXPECT_EQ(ports[1].at("type"), "tcp");
    EXPECT_TRUE(ports[1].at("public").is_int64());
    EXPECT_EQ(ports[1].at("ip"), "127.0.0.1");
}

TEST_F(pod_store_test, ids_are_short_lowercase_alphanumerics) {
    for (int i = 0; i < 20; ++i) {
        const std::string id{create().at("id").as_string()};
        EXPECT_EQ(id.size(), 14U);
        EXPECT_EQ(id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789"), std::string::npos)
            << id;
    }
}

TEST_F(pod_store_test, cost_scales_and_stops_when_exited) {
    const auto pod = create();
    const std::string id{pod.at("id").as_string()};
    EXPECT_DOUBLE_EQ(pod.at("cost").to_number<double>(), 1.38);

    const auto stopped = store_->act(id, R"({"action": "stop"})");
    ASSERT_EQ(stopped.status, 200U) << stopped.body;
    EXPECT_EQ(get(id).at("status"), "EXITED");
    EXPECT_DOUBLE_EQ(get(id).at("cost").to_number<double>(), 0.0);
    EXPECT_EQ(get(id).at("actions"), (json::array{"start", "terminate"}));
}

TEST_F(pod_store_test, env_round_trips_exactly) {
    const std::string awkward = "a=b=c \"quoted\" 'single' \\ back\ttab é 中文 🚀";
    json::object body = json::parse(create_body).as_object();
    body["env"] = json::object{{"AWKWARD", awkward}, {"EMPTY", ""}};
    const auto pod = create(json::serialize(body));

    EXPECT_EQ(pod.at("env").at("AWKWARD").as_string(), awkward);
    EXPECT_EQ(pod.at("env").at("EMPTY").as_string(), "");
}

TEST_F(pod_store_test, unknown_keys_are_422_with_errors) {
    const auto rejected = store_->create(R"({"name": "x", "image": "i", "bogus": 1,
        "gpu": {"id": "NVIDIA L4", "extra": true},
        "mounts": {"persistent": {"size": 5, "path": "/workspace", "mode": "rw"}}})");

    ASSERT_EQ(rejected.status, 422U);
    const auto problem = json::parse(rejected.body).as_object();
    EXPECT_EQ(problem.at("status"), 422);
    const auto& errors = problem.at("errors").as_array();
    const auto contains = [&](std::string_view text) {
        return std::any_of(errors.begin(), errors.end(), [&](const json::value& entry) {
            return std::string_view{entry.as_string()}.find(text) != std::string_view::npos;
        });
    };
    EXPECT_TRUE(contains("$: additional properties 'bogus' not allowed"));
    EXPECT_TRUE(contains("$.gpu: additional properties 'extra' not allowed"));
    EXPECT_TRUE(contains("$.mounts.persistent: additional properties 'mode' not allowed"));
    EXPECT_TRUE(contains("$.mounts.persistent.size"));
}

TEST_F(pod_store_test, removed_capacity_is_400_for_that_gpu_only) {
    ASSERT_EQ(
        store_->admin_set_capacity(R"({"gpuId": "NVIDIA GeForce RTX 4090", "available": false})")
            .status,
        204U);

    const auto rejected = store_->create(create_body);
    EXPECT_EQ(rejected.status, 400U);
    EXPECT_NE(rejected.body.find("no longer any instances available"), std::string::npos);
    EXPECT_EQ(store_->create(R"({"name": "n", "image": "i", "gpu": {"id": "NVIDIA L4"}})").status,
              201U);
}

TEST_F(pod_store_test, cuda_above_host_is_400) {
    EXPECT_EQ(store_
                  ->create(R"({"name": "n", "image": "i",
        "gpu": {"id": "NVIDIA L4", "minCudaVersion": "12.10"}})")
                  .status,
              400U);
    EXPECT_EQ(store_
                  ->create(R"({"name": "n", "image": "i",
        "gpu": {"id": "NVIDIA L4", "minCudaVersion": "12.4"}})")
                  .status,
              201U);
}

TEST_F(pod_store_test, unknown_gpu_and_missing_gpu_are_400) {
    EXPECT_EQ(
        store_->create(R"({"name": "n", "image": "i", "gpu": {"id": "NVIDIA Imaginary"}})").status,
        400U);
    EXPECT_EQ(store_->create(R"({"name": "n", "image": "i"})").status, 400U);
    EXPECT_EQ(store_->create("not json").status, 400U);
}

TEST_F(pod_store_test, deleted_pod_is_gone_but_kept_for_admin) {
    const std::string id{create().at("id").as_string()};

    EXPECT_EQ(store_->remove(id).status, 204U);
    EXPECT_EQ(store_->get(id).status, 404U);
    EXPECT_EQ(store_->remove(id).status, 404U);
    EXPECT_EQ(json::parse(store_->list().body).at("pods").as_array().size(), 0U);
    const auto all = store_->admin_pods();
    ASSERT_EQ(all.size(), 1U);
    EXPECT_EQ(all[0].at("deleted"), true);
    EXPECT_EQ(all[0].at("status"), "TERMINATED");
    EXPECT_DOUBLE_EQ(all[0].at("cost").to_number<double>(), 0.0);
}

TEST_F(pod_store_test, actions_follow_status) {
    const std::string id{create().at("id").as_string()};

    EXPECT_EQ(store_->act(id, R"({"action": "restart"})").status, 409U);
    EXPECT_EQ(store_->act(id, R"({"action": "start"})").status, 409U);
    EXPECT_EQ(store_->act(id, R"({"action": "dance"})").status, 422U);
    EXPECT_EQ(store_->act(id, R"({"action": "stop", "extra": 1})").status, 422U);
    EXPECT_EQ(store_->act(id, R"({"action": "stop"})").status, 200U);
    EXPECT_EQ(store_->act(id, R"({"action": "start"})").status, 200U);
    EXPECT_EQ(get(id).at("status"), "PROVISIONING");
    now_ += 30s;
    EXPECT_EQ(store_->act(id, R"({"action": "restart"})").status, 200U);
    EXPECT_EQ(get(id).at("status"), "RUNNING");
    EXPECT_EQ(store_->act(id, R"({"action": "terminate"})").status, 204U);
    EXPECT_EQ(store_->get(id).status, 404U);
}

TEST_F(pod_store_test, admin_adds_pod_with_id_status_and_time) {
    const auto added = store_->admin_add(R"({"id": "orphan0000001", "status": "RUNNING",
        "createdAt": "2026-01-01T00:00:00Z", "name": "psn-other-default-x-00000000",
        "image": "i", "gpu": {"id": "NVIDIA L4"}})");

    ASSERT_EQ(added.status, 201U) << added.body;
    const auto pod = get("orphan0000001");
    EXPECT_EQ(pod.at("status"), "RUNNING");
    EXPECT_EQ(pod.at("createdAt"), "2026-01-01T00:00:00Z");
    EXPECT_EQ(store_
                  ->admin_add(R"({"id": "orphan0000001", "name": "n", "image": "i",
        "gpu": {"id": "NVIDIA L4"}})")
                  .status,
              409U);
}

TEST_F(pod_store_test, admin_pins_status) {
    const std::string id{create().at("id").as_string()};

    EXPECT_EQ(store_->admin_set_status(id, R"({"status": "ERROR"})").status, 200U);
    now_ += 1h;
    EXPECT_EQ(get(id).at("status"), "ERROR");
    EXPECT_EQ(store_->admin_set_status(id, R"({"status": null})").status, 200U);
    EXPECT_EQ(get(id).at("status"), "RUNNING");
    EXPECT_EQ(store_->admin_set_status(id, R"({"status": "TERMINATED"})").status, 204U);
    EXPECT_EQ(store_->get(id).status, 404U);
    EXPECT_EQ(store_->admin_set_status(id, R"({"status": "ERROR"})").status, 404U);
}

}  // namespace
}  // namespace podsession::providers::simulated
