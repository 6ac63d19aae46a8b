// The simulator's scripted faults: the fault plan format, and each fault
// kind as a client sees it over loopback HTTP.

#include "providers/simulated/faults.hpp"

#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "net/client.hpp"
#include "net/error.hpp"
#include "providers/simulated/simulator.hpp"
#include "tests/crd/alias_bomb.hpp"
#include "tests/net/run_task.hpp"

namespace podsession::providers::simulated {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
namespace http = net::http;
using namespace std::chrono_literals;
using podsession::testing::run_task;

constexpr std::string_view gpu_4090 = "NVIDIA GeForce RTX 4090";

struct invalid_plan_case {
    std::string text;
    std::string error;
};

TEST(fault_plan, json_and_yaml_read_alike) {
    const auto from_json = parse_fault_plan(R"({"seed": 9, "rules": [
        {"operation": "createPod", "fault": "errorAfterEffect", "status": 503, "times": 1},
        {"operation": "*", "fault": "error", "status": 429, "retryAfterSeconds": 2,
         "after": 3, "probability": 0.25, "detail": ["a", "b"]},
        {"fault": "listLag", "lagMs": 4000},
        {"fault": "stick", "podStatus": "STARTING", "namePrefix": "psn-x-"},
        {"operation": "listPods", "fault": "emptyBalance", "pods": "terminate"}]})");
    const auto from_yaml = parse_fault_plan(R"(
seed: 9
rules:
  - {operation: createPod, fault: errorAfterEffect, status: 503, times: 1}
  - operation: "*"
    fault: error
    status: 429
    retryAfterSeconds: 2
    after: 3
    probability: 0.25
    detail: [a, b]
  - {fault: listLag, lagMs: 4000}
  - {fault: stick, podStatus: STARTING, namePrefix: psn-x-}
  - {operation: listPods, fault: emptyBalance, pods: terminate}
)");

    ASSERT_TRUE(from_json) << from_json.error();
    ASSERT_TRUE(from_yaml) << from_yaml.error();
    EXPECT_EQ(json::serialize(to_json(*from_json)), json::serialize(to_json(*from_yaml)));
    const auto& rules = from_yaml->rules;
    ASSERT_EQ(rules.size(), 5U);
    EXPECT_EQ(from_yaml->seed, 9U);
    EXPECT_EQ(rules[0].kind, fault_kind::error_after_effect);
    EXPECT_EQ(rules[0].status, 503U);
    EXPECT_EQ(rules[0].times, 1U);
    EXPECT_FALSE(rules[1].watched);
    EXPECT_EQ(rules[1].retry_after, 2s);
    EXPECT_EQ(rules[1].after, 3U);
    EXPECT_DOUBLE_EQ(rules[1].probability, 0.25);
    EXPECT_EQ(rules[1].details, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(rules[2].watched, operation::list_pods);
    EXPECT_EQ(rules[2].lag, 4000ms);
    EXPECT_EQ(rules[3].watched, operation::create_pod);
    EXPECT_EQ(rules[3].pod_status, crd::pod_status::starting);
    EXPECT_EQ(rules[4].balance, balance_effect::terminate);
}

TEST(fault_plan, rejects_an_alias_bomb) {
    // Converting the plan to JSON would copy 10^12 scalars.
    const auto plan = parse_fault_plan("seed: 1\n" + podsession::testing::alias_bomb_entries());
    ASSERT_FALSE(plan);
    EXPECT_EQ(plan.error(),
              "anchors and aliases expand this document to more than 100000 nodes (at alias "
              "*a3); write the values out instead of repeating them through anchors and aliases "
              "at line 6");
}

TEST(fault_plan, rejects_invalid_plans_naming_the_field) {
    const invalid_plan_case cases[] = {
        {"[]", "a fault plan must be an object"},
        {R"({"rule": []})", "rule: unknown key"},
        {R"({"rules": [{"fault": "explode"}]})", "rules[0].fault: \"explode\" is not"},
        {R"({"rules": [{"fault": "error", "status": 99}]})",
         "rules[0].status: 99 is not a whole number in 400..599"},
        {R"({"rules": [{"fault": "error"}, {"fault": "error", "operation": "getPods"}]})",
         "rules[1].operation: \"getPods\" is not createPod"},
        {R"({"rules": [{"fault": "error", "probability": 1.5}]})",
         "rules[0].probability: 1.5E0 is not a number in 0..1"},
        {R"({"rules": [{"fault": "ignore", "operation": "getPod"}]})",
         "rules[0].operation: ignore applies to deletePod or podAction only"},
        {R"({"rules": [{"fault": "listLag"}]})", "rules[0].lagMs: listLag needs a lag above 0"},
        {R"({"rules": [{"fault": "stick", "podStatus": "TERMINATED"}]})",
         "rules[0].podStatus: stick needs a live status"},
        {R"({"rules": [{"fault": "setStatus", "podStatus": "GONE"}]})",
         "rules[0].podStatus: \"GONE\" is not a RunPod pod status"},
        {R"({"rules": [{"fault": "error", "delayMs": 50, "delayMaxMs": 10}]})",
         "rules[0].delayMaxMs: must not be below delayMs"},
        {R"({"rules": [{"fault": "error", "statsu": 500}]})", "rules[0].statsu: unknown key"},
        {"rules: [fault: error", "not valid YAML"},
        {"{\"rules\": [", "not valid JSON"},
    };
    for (const auto& row : cases) {
        SCOPED_TRACE(row.text);
        const auto plan = parse_fault_plan(row.text);
        ASSERT_FALSE(plan);
        EXPECT_NE(plan.error().find(row.error), std::string::npos) << plan.error();
    }
}

// A simulator with a manual clock and a raw HTTP client, so that each test
// checks exactly what the faults send.
class faults_test : public ::testing::Test {
  protected:
    void SetUp() override {
        simulator_options options;
        options.store.now = [this] { return now_; };
        options.store.schedule = boot_schedule{10s, 10s};
        options.store.seed = 5;
        simulator_ = start_in_process(io_.get_executor(), std::move(options));
        http_.emplace(io_.get_executor(), simulator_.base_url);
    }

    void TearDown() override {
        http_.reset();
        simulator_.server->stop();
        io_.run_for(1s);
    }

    void install(std::string_view plan_text) {
        auto plan = parse_fault_plan(plan_text);
        ASSERT_TRUE(plan) << plan.error();
        simulator_.server->faults().replace(std::move(*plan));
    }

    boost::system::result<net::response> send(http::verb method, std::string target,
                                              std::string body = {}) {
        net::request message;
        message.method = method;
        message.target = std::move(target);
        message.body = std::move(body);
        message.headers.set(http::field::authorization, "Bearer " + simulator_.api_key);
        message.headers.set(http::field::content_type, "application/json");
        return run_task(io_, http_->send(std::move(message)));
    }

    boost::system::result<net::response> create(std::string name, std::string_view gpu = gpu_4090) {
        return send(http::verb::post, "/v2/pods",
                    json::serialize(json::object{{"name", name},
                                                 {"image", "ghcr.io/me/inference:1"},
                                                 {"gpu", json::object{{"id", gpu}}}}));
    }

    std::vector<std::string> listed_ids() {
        const auto listed = send(http::verb::get, "/v2/pods");
        EXPECT_TRUE(listed);
        std::vector<std::string> ids;
        if (listed && listed->status == 200) {
            const auto body = json::parse(listed->body);
            for (const auto& pod : body.at("pods").as_array()) {
                ids.emplace_back(pod.at("id").as_string());
            }
        }
        return ids;
    }

    std::vector<std::string> stored_ids() {
        std::vector<std::string> ids;
        for (const auto& pod : simulator_.server->store().admin_pods()) {
            if (!pod.at("deleted").as_bool()) {
                ids.emplace_back(pod.at("id").as_string());
            }
        }
        return ids;
    }

    static std::string id_of(const net::response& response) {
        return std::string{json::parse(response.body).at("id").as_string()};
    }

    asio::io_context io_;
    sim_clock::time_point now_ = sim_clock::time_point{} + std::chrono::hours{24 * 365 * 56};
    in_process_simulator simulator_;
    std::optional<net::client> http_;
};

TEST_F(faults_test, error_after_effect_makes_pod_and_answers_500) {
    install(R"({"rules": [{"operation": "createPod", "fault": "errorAfterEffect", "times": 1}]})");

    const auto first = create("psn-a-default-one-00000001");
    const auto second = create("psn-a-default-two-00000002");

    ASSERT_TRUE(first);
    EXPECT_EQ(first->status, 500U);
    EXPECT_EQ(first->headers[http::field::content_type], "application/problem+json");
    ASSERT_TRUE(second);
    EXPECT_EQ(second->status, 201U);
    EXPECT_EQ(stored_ids().size(), 2U);
}

TEST_F(faults_test, drop_response_makes_pod_without_reply) {
    install(R"({"rules": [{"operation": "createPod", "fault": "dropResponse"}]})");

    const auto created = create("psn-a-default-one-00000001");

    ASSERT_FALSE(created);
    EXPECT_EQ(created.error(), net::errc::connection_reset);
    EXPECT_EQ(stored_ids().size(), 1U);
}

TEST_F(faults_test, drop_request_has_no_effect) {
    install(R"({"rules": [{"operation": "deletePod", "fault": "dropRequest"}]})");
    const auto created = create("psn-a-default-one-00000001");
    ASSERT_TRUE(created);

    const auto deleted = send(http::verb::delete_, "/v2/pods/" + id_of(*created));

    ASSERT_FALSE(deleted);
    EXPECT_EQ(stored_ids().size(), 1U);
}

TEST_F(faults_test, list_lag_hides_new_pods_until_lag_passes) {
    install(R"({"rules": [{"fault": "listLag", "lagMs": 5000}]})");
    const auto created = create("psn-a-default-one-00000001");
    ASSERT_TRUE(created);
    const auto id = id_of(*created);

    const auto while_new = listed_ids();
    now_ += 4s;
    const auto before_lag = listed_ids();
    const auto fetched = send(http::verb::get, "/v2/pods/" + id);
    now_ += 2s;
    const auto after_lag = listed_ids();

    EXPECT_TRUE(while_new.empty());
    EXPECT_TRUE(before_lag.empty());
    ASSERT_TRUE(fetched);
    EXPECT_EQ(fetched->status, 200U);
    EXPECT_EQ(after_lag, std::vector<std::string>{id});
}

TEST_F(faults_test, stick_keeps_pod_booting_forever) {
    install(R"({"rules": [{"fault": "stick", "podStatus": "PROVISIONING",
                           "namePrefix": "psn-a-default-stuck-"}]})");
    const auto stuck = create("psn-a-default-stuck-00000001");
    const auto normal = create("psn-a-default-fine-00000002");
    ASSERT_TRUE(stuck);
    ASSERT_TRUE(normal);

    now_ += 24h;

    auto& store = simulator_.server->store();
    EXPECT_EQ(store.status_of(id_of(*stuck)), crd::pod_status::provisioning);
    EXPECT_EQ(store.status_of(id_of(*normal)), crd::pod_status::running);
    const auto fetched = send(http::verb::get, "/v2/pods/" + id_of(*stuck));
    ASSERT_TRUE(fetched);
    EXPECT_TRUE(json::parse(fetched->body).at("runtime").is_null());
}

TEST_F(faults_test, set_status_on_nth_list_moves_matching_pods) {
    const auto broken = create("psn-a-default-broken-00000001");
    const auto gone = create("psn-a-default-gone-00000002");
    const auto kept = create("psn-a-default-kept-00000003");
    ASSERT_TRUE(broken && gone && kept);
    install(R"({"rules": [
        {"operation": "listPods", "fault": "setStatus", "podStatus": "ERROR",
         "namePrefix": "psn-a-default-broken-", "after": 1, "times": 1},
        {"operation": "listPods", "fault": "setStatus", "podStatus": "TERMINATED",
         "namePrefix": "psn-a-default-gone-", "after": 1, "times": 1}]})");

    const auto first = listed_ids();
    const auto second = listed_ids();

    EXPECT_EQ(first.size(), 3U);
    EXPECT_EQ(second.size(), 2U);
    auto& store = simulator_.server->store();
    EXPECT_EQ(store.status_of(id_of(*broken)), crd::pod_status::error);
    EXPECT_EQ(store.status_of(id_of(*gone)), crd::pod_status::terminated);
    EXPECT_EQ(store.status_of(id_of(*kept)), crd::pod_status::provisioning);
}

TEST_F(faults_test, ignore_answers_success_and_changes_nothing) {
    const auto created = create("psn-a-default-one-00000001");
    ASSERT_TRUE(created);
    const auto id = id_of(*created);
    now_ += 30s;
    install(R"({"rules": [{"operation": "deletePod", "fault": "ignore", "times": 1},
                          {"operation": "podAction", "fault": "ignore"}]})");

    const auto deleted = send(http::verb::delete_, "/v2/pods/" + id);
    const auto stopped =
        send(http::verb::post, "/v2/pods/" + id + "/action", R"({"action": "stop"})");
    const auto terminated =
        send(http::verb::post, "/v2/pods/" + id + "/action", R"({"action": "terminate"})");

    ASSERT_TRUE(deleted);
    EXPECT_EQ(deleted->status, 204U);
    ASSERT_TRUE(stopped);
    EXPECT_EQ(stopped->status, 200U);
    EXPECT_EQ(json::parse(stopped->body).at("status").as_string(), "RUNNING");
    ASSERT_TRUE(terminated);
    EXPECT_EQ(terminated->status, 204U);
    EXPECT_EQ(simulator_.server->store().status_of(id), crd::pod_status::running);
    const auto really = send(http::verb::delete_, "/v2/pods/" + id);
    ASSERT_TRUE(really);
    EXPECT_EQ(really->status, 204U);
    EXPECT_EQ(simulator_.server->store().status_of(id), crd::pod_status::terminated);
}

TEST_F(faults_test, error_burst_carries_retry_after_then_ends) {
    install(R"({"rules": [{"fault": "error", "status": 429, "retryAfterSeconds": 3,
                           "after": 1, "times": 2}]})");

    std::vector<unsigned> statuses;
    for (int i = 0; i < 4; ++i) {
        const auto listed = send(http::verb::get, "/v2/pods");
        ASSERT_TRUE(listed);
        statuses.push_back(listed->status);
        if (listed->status == 429) {
            EXPECT_EQ(listed->headers[http::field::retry_after], "3");
            EXPECT_NE(listed->headers.find("RateLimit"), listed->headers.end());
        }
    }

    EXPECT_EQ(statuses, (std::vector<unsigned>{200, 429, 429, 200}));
    const auto& rule = simulator_.server->faults().plan().rules.front();
    EXPECT_EQ(rule.matched, 4U);
    EXPECT_EQ(rule.applied, 2U);
}

TEST_F(faults_test, capacity_details_vary_per_gpu_type) {
    install(R"({"rules": [{"operation": "createPod", "gpuId": "NVIDIA H100 80GB HBM3",
                           "fault": "error", "status": 400,
                           "detail": ["No instances available", "Out of stock, try later"]}]})");

    const auto first = create("psn-a-default-one-00000001", "NVIDIA H100 80GB HBM3");
    const auto second = create("psn-a-default-one-00000001", "NVIDIA H100 80GB HBM3");
    const auto other = create("psn-a-default-one-00000001");

    ASSERT_TRUE(first && second && other);
    EXPECT_EQ(first->status, 400U);
    EXPECT_EQ(json::parse(first->body).at("detail").as_string(), "No instances available");
    EXPECT_EQ(second->status, 400U);
    EXPECT_EQ(json::parse(second->body).at("detail").as_string(), "Out of stock, try later");
    EXPECT_EQ(other->status, 201U);
}

TEST_F(faults_test, seeded_probability_repeats) {
    const auto run = [&] {
        install(R"({"seed": 77, "rules": [{"operation": "getPod", "fault": "error",
                                           "status": 503, "probability": 0.3}]})");
        std::string pattern;
        for (int i = 0; i < 40; ++i) {
            const auto fetched = send(http::verb::get, "/v2/pods/none");
            pattern += fetched && fetched->status == 503 ? 'x' : '.';
        }
        return pattern;
    };

    const auto first = run();
    const auto second = run();

    EXPECT_EQ(first, second);
    const auto failures = std::count(first.begin(), first.end(), 'x');
    EXPECT_GT(failures, 0);
    EXPECT_LT(failures, 40);
}

TEST_F(faults_test, empty_balance_stops_pods_and_rejects_creates) {
    const auto running = create("psn-a-default-one-00000001");
    ASSERT_TRUE(running);
    now_ += 30s;
    install(R"({"rules": [{"operation": "listPods", "fault": "emptyBalance", "pods": "stop",
                           "times": 1}]})");

    (void)listed_ids();
    const auto refused = create("psn-a-default-two-00000002");

    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 402U);
    EXPECT_EQ(simulator_.server->store().status_of(id_of(*running)), crd::pod_status::exited);
    const auto restored = send(http::verb::put, "/_sim/balance", R"({"empty": false})");
    ASSERT_TRUE(restored);
    EXPECT_EQ(restored->status, 204U);
    const auto accepted = create("psn-a-default-two-00000002");
    ASSERT_TRUE(accepted);
    EXPECT_EQ(accepted->status, 201U);
}

TEST_F(faults_test, balance_endpoint_terminates_pods) {
    const auto running = create("psn-a-default-one-00000001");
    ASSERT_TRUE(running);

    const auto emptied =
        send(http::verb::put, "/_sim/balance", R"({"empty": true, "pods": "terminate"})");
    const auto invalid = send(http::verb::put, "/_sim/balance", R"({"empty": "yes"})");

    ASSERT_TRUE(emptied && invalid);
    EXPECT_EQ(emptied->status, 204U);
    EXPECT_EQ(invalid->status, 422U);
    EXPECT_TRUE(stored_ids().empty());
}

TEST_F(faults_test, admin_endpoint_replaces_appends_and_clears) {
    const auto replaced = send(http::verb::put, "/_sim/faults",
                               R"({"rules": [{"operation": "getPod", "fault": "error"}]})");
    const auto appended = send(http::verb::post, "/_sim/faults",
                               R"({"rules": [{"operation": "listPods", "fault": "error"}]})");
    const auto listed = send(http::verb::get, "/v2/pods");
    const auto shown = send(http::verb::get, "/_sim/faults");
    const auto rejected =
        send(http::verb::put, "/_sim/faults", R"({"rules": [{"fault": "error", "status": 1}]})");
    const auto cleared = send(http::verb::delete_, "/_sim/faults");
    const auto listed_again = send(http::verb::get, "/v2/pods");

    ASSERT_TRUE(replaced && appended && listed && shown && rejected && cleared && listed_again);
    EXPECT_EQ(replaced->status, 200U);
    EXPECT_EQ(appended->status, 200U);
    EXPECT_EQ(listed->status, 500U);
    const auto rules = json::parse(shown->body).at("rules").as_array();
    ASSERT_EQ(rules.size(), 2U);
    EXPECT_EQ(rules[1].at("operation").as_string(), "listPods");
    EXPECT_EQ(rules[1].at("applied").as_int64(), 1);
    EXPECT_EQ(rejected->status, 422U);
    EXPECT_NE(rejected->body.find("rules[0].status"), std::string::npos);
    EXPECT_EQ(cleared->status, 204U);
    EXPECT_EQ(listed_again->status, 200U);
    EXPECT_TRUE(simulator_.server->faults().plan().rules.empty());
}

TEST_F(faults_test, request_log_records_times_and_drops) {
    // Unlimited, because the HTTP client sends a GET again on a new connection
    // when a reused one closes without a response.
    install(R"({"rules": [{"operation": "getPod", "fault": "dropRequest"}]})");
    (void)listed_ids();
    now_ += 1500ms;
    (void)send(http::verb::get, "/v2/pods/abc");

    const auto logged = send(http::verb::get, "/_sim/requests");

    ASSERT_TRUE(logged);
    const auto requests = json::parse(logged->body).at("requests").as_array();
    ASSERT_GE(requests.size(), 2U);
    EXPECT_EQ(requests[0].at("operation").as_string(), "listPods");
    EXPECT_EQ(requests[0].at("status").as_int64(), 200);
    EXPECT_EQ(requests[1].at("operation").as_string(), "getPod");
    EXPECT_TRUE(requests[1].at("dropped").as_bool());
    EXPECT_EQ(requests[1].at("receivedMs").as_int64() - requests[0].at("receivedMs").as_int64(),
              1500);
}

}  // namespace
}  // namespace podsession::providers::simulated
