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

// A store that loads the state `store_` saves now, as a restarted
// simulator with the same clock and schedule would.
std::unique_ptr<pod_store> restart(const pod_store& store, const store_options& options) {
    auto restarted = std::make_unique<pod_store>(options);
    const auto loaded = restarted->load_state(store.save_state());
    EXPECT_TRUE(loaded) << (loaded ? "" : loaded.error());
    return restarted;
}

TEST_F(pod_store_test, state_keeps_a_booting_pod_on_schedule) {
    const auto created = create();
    const std::string id{created.at("id").as_string()};
    now_ += 5s;

    store_ = restart(*store_, options_);
    auto pod = get(id);
    EXPECT_EQ(pod.at("status"), "PROVISIONING");
    EXPECT_EQ(pod.at("createdAt"), created.at("createdAt"));
    now_ += 5s;
    EXPECT_EQ(get(id).at("status"), "STARTING");
    now_ += 20s;
    pod = get(id);
    EXPECT_EQ(pod.at("status"), "RUNNING");
    EXPECT_EQ(pod.at("runtime").at("uptime"), 0);
}

TEST_F(pod_store_test, state_keeps_spec_gpu_price_and_ports) {
    const std::string awkward = "a=b=c \"quoted\" 'single' \\ back\ttab é 中文 🚀";
    json::object body = json::parse(create_body).as_object();
    body["env"] = json::object{{"ATLAS_PRESHARED_KEY", "token-0123"}, {"AWKWARD", awkward}};
    const std::string id{create(json::serialize(body)).at("id").as_string()};
    now_ += 30s;
    const auto before = get(id);

    store_ = restart(*store_, options_);
    const auto after = get(id);
    EXPECT_EQ(after.at("env"), before.at("env"));
    EXPECT_EQ(after.at("env").at("AWKWARD").as_string(), awkward);
    EXPECT_EQ(after.at("name"), before.at("name"));
    EXPECT_EQ(after.at("image"), before.at("image"));
    EXPECT_EQ(after.at("disk"), 20);
    EXPECT_EQ(after.at("gpu"), (json::object{{"id", "NVIDIA GeForce RTX 4090"}, {"count", 2}}));
    EXPECT_DOUBLE_EQ(after.at("cost").to_number<double>(), 1.38);
    EXPECT_EQ(after.at("runtime").at("ports"), before.at("runtime").at("ports"));
    EXPECT_EQ(after.at("startedAt"), before.at("startedAt"));
}

TEST_F(pod_store_test, state_keeps_pinned_statuses) {
    const std::string stopped{create().at("id").as_string()};
    const std::string failed{create().at("id").as_string()};
    ASSERT_EQ(store_->act(stopped, R"({"action": "stop"})").status, 200U);
    ASSERT_EQ(store_->admin_set_status(failed, R"({"status": "ERROR"})").status, 200U);

    store_ = restart(*store_, options_);
    now_ += 1h;
    EXPECT_EQ(get(stopped).at("status"), "EXITED");
    EXPECT_EQ(get(failed).at("status"), "ERROR");
    EXPECT_EQ(store_->act(stopped, R"({"action": "start"})").status, 200U);
    EXPECT_EQ(get(stopped).at("status"), "PROVISIONING");
}

TEST_F(pod_store_test, state_leaves_out_deleted_pods) {
    const std::string kept{create().at("id").as_string()};
    const std::string removed{create().at("id").as_string()};
    const std::string terminated{create().at("id").as_string()};
    ASSERT_EQ(store_->remove(removed).status, 204U);
    ASSERT_EQ(store_->act(terminated, R"({"action": "terminate"})").status, 204U);

    store_ = restart(*store_, options_);
    const auto all = store_->admin_pods();
    ASSERT_EQ(all.size(), 1U);
    EXPECT_EQ(all[0].at("id").as_string(), kept);
    EXPECT_EQ(store_->get(removed).status, 404U);
    EXPECT_EQ(store_->get(terminated).status, 404U);
    EXPECT_EQ(store_->live_pod_count(), 1U);
}

TEST_F(pod_store_test, new_ids_avoid_loaded_ones) {
    const std::string first{create().at("id").as_string()};

    // The same seed would draw the same id first.
    store_ = restart(*store_, options_);
    const std::string second{create().at("id").as_string()};
    EXPECT_NE(second, first);
    EXPECT_EQ(store_->live_pod_count(), 2U);
}

TEST_F(pod_store_test, state_of_empty_store_is_empty) {
    const auto text = store_->save_state();
    EXPECT_EQ(json::parse(text), (json::object{{"version", 1}, {"pods", json::array{}}}));
    store_ = restart(*store_, options_);
    EXPECT_EQ(store_->live_pod_count(), 0U);
}

TEST_F(pod_store_test, invalid_state_is_rejected_with_its_path) {
    const std::string pod =
        R"({"id": "p1", "spec": {"name": "n", "image": "i", "gpu": {"id": "NVIDIA L4"}},
            "gpuId": "NVIDIA L4", "gpuCount": 1, "pricePerGpu": 0.44,
            "createdAtMs": 1000, "bootStartedAtMs": 1000, "pinnedStatus": null,
            "publicPorts": []})";
    const auto with = [&](std::string_view key, std::string_view value) {
        auto object = json::parse(pod).as_object();
        object[key] = json::parse(value);
        return R"({"version": 1, "pods": [)" + json::serialize(object) + "]}";
    };
    struct invalid_case {
        std::string text;
        std::string expected;
    };
    const std::vector<invalid_case> cases = {
        {"", "invalid JSON at line 1, column 1"},
        {"{\"version\": 1,\n  \"pods\": [}", "invalid JSON at line 2, column 12"},
        {R"({"version": 1, "pods": []} trailing)", "invalid JSON at line 1, column 28"},
        {"[]", "the document must be a JSON object"},
        {R"({"pods": []})", "version: missing; this program reads state version 1"},
        {R"({"version": 2, "pods": []})", "version: 2 is not supported"},
        {R"({"version": 1})", "pods: an array is required"},
        {R"({"version": 1, "pods": [7]})", "pods[0]: must be an object"},
        {with("id", "\"\""), "pods[0].id: a non-empty string is required"},
        {with("spec", "[]"), "pods[0].spec: an object (the create body) is required"},
        {with("spec", R"({"name": "n", "image": "i", "ports": [80]})"),
         "pods[0].spec: $.ports: must be an array of strings"},
        {with("gpuId", "3"), "pods[0].gpuId: a non-empty string is required"},
        {with("gpuCount", "0"), "pods[0].gpuCount: an integer in 1..1000 is required"},
        {with("pricePerGpu", "-1"), "pods[0].pricePerGpu: a number of at least 0 is required"},
        {with("createdAtMs", "\"2026-01-01T00:00:00Z\""), "pods[0].createdAtMs: milliseconds"},
        {with("bootStartedAtMs", "-5"), "pods[0].bootStartedAtMs: milliseconds"},
        {with("pinnedStatus", "\"TERMINATED\""), "pods[0].pinnedStatus: a live RunPod pod status"},
        {with("pinnedStatus", "\"SLEEPING\""), "pods[0].pinnedStatus: a live RunPod pod status"},
        {with("publicPorts", R"([{"private": 22, "public": 70000}])"),
         "pods[0].publicPorts[0]: {\"private\": PORT, \"public\": PORT}"},
        {R"({"version": 1, "pods": [)" + pod + "," + pod + "]}",
         "pods[1].id: \"p1\" is also the id of pods[0]"},
    };

    const std::string kept{create().at("id").as_string()};
    for (const auto& [text, expected] : cases) {
        SCOPED_TRACE(text);
        const auto loaded = store_->load_state(text);
        ASSERT_FALSE(loaded);
        EXPECT_NE(loaded.error().find(expected), std::string::npos) << loaded.error();
        EXPECT_EQ(store_->live_pod_count(), 1U);
        EXPECT_EQ(store_->get(kept).status, 200U);
    }
    const auto valid = store_->load_state(R"({"version": 1, "pods": [)" + pod + "]}");
    EXPECT_TRUE(valid);
    EXPECT_EQ(get("p1").at("status"), "RUNNING");
}

TEST_F(pod_store_test, change_listener_hears_every_pod_change) {
    int changes = 0;
    store_->set_change_listener([&] { ++changes; });

    const std::string id{create().at("id").as_string()};
    EXPECT_EQ(changes, 1);
    (void)store_->list();
    (void)store_->get(id);
    (void)store_->create("not json");
    (void)store_->admin_set_capacity(R"({"gpuId": "NVIDIA L4", "available": false})");
    EXPECT_EQ(changes, 1);
    ASSERT_EQ(store_->act(id, R"({"action": "stop"})").status, 200U);
    EXPECT_EQ(changes, 2);
    ASSERT_EQ(store_->admin_set_status(id, R"({"status": null})").status, 200U);
    EXPECT_EQ(changes, 3);
    ASSERT_EQ(
        store_->admin_add(R"({"name": "n", "image": "i", "gpu": {"id": "NVIDIA L4"}})").status,
        201U);
    EXPECT_EQ(changes, 4);
    store_->set_balance_empty(true, balance_effect::stop);
    EXPECT_EQ(changes, 5);
    ASSERT_EQ(store_->remove(id).status, 204U);
    EXPECT_EQ(changes, 6);
    // Nothing left to stop.
    store_->set_balance_empty(true, balance_effect::stop);
    EXPECT_EQ(changes, 6);
}

}  // namespace
}  // namespace podsession::providers::simulated
