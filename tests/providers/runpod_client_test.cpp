// The RunPod client against the simulator over loopback HTTP: the real
// request path, with faults scripted per test.

#include "providers/runpod/client.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <tuple>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>

#include "providers/simulated/simulator.hpp"
#include "tests/net/run_task.hpp"

namespace podsession::providers::runpod {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
namespace simulated = providers::simulated;
using namespace std::chrono_literals;
using podsession::testing::run_task;

class scripted_faults final : public simulated::fault_script {
  public:
    std::function<std::optional<net::reply>(simulated::operation, const net::server_request&)>
        on_before;
    std::function<void(simulated::operation, net::reply&)> on_after;

    asio::awaitable<std::optional<net::reply>> before(simulated::operation operation,
                                                      const net::server_request& request) override {
        co_return on_before ? on_before(operation, request) : std::nullopt;
    }

    asio::awaitable<void> after(simulated::operation operation, const net::server_request&,
                                net::reply& reply) override {
        if (on_after) {
            on_after(operation, reply);
        }
        co_return;
    }
};

net::reply problem_reply(unsigned status, std::string detail = "scripted") {
    const auto outcome = simulated::problem(status, detail);
    auto message = net::make_response(status, outcome.body, "application/problem+json");
    return net::reply{std::move(message)};
}

create_pod_request make_create_request() {
    create_pod_request request;
    request.name = "psn-a-default-user-1-0123abcd";
    request.image = "ghcr.io/me/inference:latest";
    request.gpu_type_id = "NVIDIA GeForce RTX 4090";
    request.ports = {"8000/http", "22/tcp"};
    request.env = {{"PODSESSION_UID", "uid-1"}, {"ATLAS_PRESHARED_KEY", "token-value-0123456789"}};
    return request;
}

class runpod_client_test : public ::testing::Test {
  protected:
    void SetUp() override {
        faults_ = std::make_shared<scripted_faults>();
        simulated::simulator_options options;
        options.store.now = [this] { return now_; };
        options.store.schedule = simulated::boot_schedule{10s, 20s};
        options.faults = faults_;
        options.record_exchanges = true;
        configure(options);
        simulator_ = simulated::start_in_process(io_.get_executor(), std::move(options));
    }

    void TearDown() override {
        client_.reset();
        simulator_.server->stop();
        io_.run_for(5s);
    }

    // Lets a test change the simulator's options before it starts.
    virtual void configure(simulated::simulator_options&) {}

    client& provider(std::string api_key = {}) {
        client_options options;
        options.base_url = simulator_.base_url;
        options.api_key = api_key.empty() ? simulator_.api_key : api_key;
        options.http.read_timeout = 5s;
        client_ = std::make_unique<client>(io_.get_executor(), std::move(options));
        return *client_;
    }

    simulated::pod_store& store() { return simulator_.server->store(); }

    std::size_t stored_pod_count() { return store().admin_pods().size(); }

    asio::io_context io_;
    simulated::sim_clock::time_point now_ =
        simulated::sim_clock::time_point{} + std::chrono::hours{24 * 365 * 56};
    std::shared_ptr<scripted_faults> faults_;
    simulated::in_process_simulator simulator_;
    std::unique_ptr<client> client_;
};

TEST_F(runpod_client_test, creates_lists_gets_and_terminates) {
    auto& runpod = provider();

    const auto created = run_task(io_, runpod.create_pod(make_create_request()));
    ASSERT_TRUE(created) << created.error().message;
    EXPECT_EQ(created->status, crd::pod_status::provisioning);
    EXPECT_EQ(created->name, "psn-a-default-user-1-0123abcd");
    EXPECT_EQ(created->gpu_type, "NVIDIA GeForce RTX 4090");
    EXPECT_EQ(created->session_uid, "uid-1");
    EXPECT_DOUBLE_EQ(created->cost_per_hour, 0.69);
    EXPECT_TRUE(created->ports.empty());

    const auto listed = run_task(io_, runpod.list_pods());
    ASSERT_TRUE(listed) << listed.error().message;
    ASSERT_EQ(listed->size(), 1U);
    EXPECT_EQ(listed->front().id, created->id);

    now_ += 30s;
    const auto running = run_task(io_, runpod.get_pod(created->id));
    ASSERT_TRUE(running) << running.error().message;
    EXPECT_EQ(running->status, crd::pod_status::running);
    ASSERT_EQ(running->ports.size(), 2U);
    EXPECT_TRUE(running->ports[1].public_port);

    const auto terminated = run_task(io_, runpod.terminate_pod(created->id));
    ASSERT_TRUE(terminated) << terminated.error().message;
    const auto lookup_after_delete = run_task(io_, runpod.get_pod(created->id));
    ASSERT_FALSE(lookup_after_delete);
    EXPECT_TRUE(lookup_after_delete.error().is(errc::not_found));
    const auto again = run_task(io_, runpod.terminate_pod(created->id));
    ASSERT_FALSE(again);
    EXPECT_TRUE(again.error().is(errc::not_found));
    EXPECT_TRUE(run_task(io_, runpod.list_pods())->empty());
}

TEST_F(runpod_client_test, wrong_key_is_unauthorized_and_not_echoed) {
    auto& runpod = provider("rpa_WRONGKEY0123456789");

    const auto listed = run_task(io_, runpod.list_pods());
    ASSERT_FALSE(listed);
    EXPECT_TRUE(listed.error().is(errc::unauthorized));
    EXPECT_EQ(listed.error().http_status, 401);
    EXPECT_EQ(listed.error().message.find("rpa_WRONGKEY"), std::string::npos);

    const auto created = run_task(io_, runpod.create_pod(make_create_request()));
    ASSERT_FALSE(created);
    EXPECT_TRUE(created.error().is(errc::unauthorized));
    EXPECT_EQ(stored_pod_count(), 0U);
}

TEST_F(runpod_client_test, removed_capacity_is_capacity_error) {
    ASSERT_EQ(store()
                  .admin_set_capacity(R"({"gpuId": "NVIDIA GeForce RTX 4090", "available": false})")
                  .status,
              204U);

    const auto created = run_task(io_, provider().create_pod(make_create_request()));

    ASSERT_FALSE(created);
    EXPECT_TRUE(created.error().is(errc::capacity));
    EXPECT_NE(created.error().message.find("no longer any instances"), std::string::npos);
}

TEST_F(runpod_client_test, small_volume_is_invalid_request_with_details) {
    auto request = make_create_request();
    request.volume_gb = 5;

    const auto created = run_task(io_, provider().create_pod(request));

    ASSERT_FALSE(created);
    EXPECT_TRUE(created.error().is(errc::invalid_request));
    ASSERT_EQ(created.error().details.size(), 1U);
    EXPECT_NE(created.error().details[0].find("$.mounts.persistent.size"), std::string::npos);
}

struct scripted_status_case {
    simulated::operation faulted;
    unsigned status;
    errc expected;
};

TEST_F(runpod_client_test, maps_every_error_status) {
    const scripted_status_case cases[] = {
        {simulated::operation::create_pod, 400, errc::capacity},
        {simulated::operation::create_pod, 402, errc::payment_required},
        {simulated::operation::create_pod, 403, errc::forbidden},
        {simulated::operation::create_pod, 422, errc::invalid_request},
        {simulated::operation::create_pod, 429, errc::rate_limited},
        {simulated::operation::create_pod, 500, errc::unknown_outcome},
        {simulated::operation::create_pod, 503, errc::unknown_outcome},
        {simulated::operation::list_pods, 401, errc::unauthorized},
        {simulated::operation::list_pods, 403, errc::forbidden},
        {simulated::operation::list_pods, 429, errc::rate_limited},
        {simulated::operation::list_pods, 500, errc::transient},
        {simulated::operation::get_pod, 404, errc::not_found},
        {simulated::operation::get_pod, 502, errc::transient},
        {simulated::operation::delete_pod, 404, errc::not_found},
        {simulated::operation::delete_pod, 409, errc::conflict},
        {simulated::operation::delete_pod, 500, errc::transient},
    };
    auto& runpod = provider();
    for (const auto& row : cases) {
        SCOPED_TRACE(std::string{simulated::to_string(row.faulted)} + " " +
                     std::to_string(row.status));
        faults_->on_before = [&](simulated::operation operation, const net::server_request&) {
            return operation == row.faulted ? std::optional{problem_reply(row.status)}
                                            : std::nullopt;
        };

        std::optional<provider_error> error;
        switch (row.faulted) {
            case simulated::operation::create_pod:
                if (auto result = run_task(io_, runpod.create_pod(make_create_request()));
                    !result) {
                    error = result.error();
                }
                break;
            case simulated::operation::list_pods:
                if (auto result = run_task(io_, runpod.list_pods()); !result) {
                    error = result.error();
                }
                break;
            case simulated::operation::get_pod:
                if (auto result = run_task(io_, runpod.get_pod("abc")); !result) {
                    error = result.error();
                }
                break;
            default:
                if (auto result = run_task(io_, runpod.terminate_pod("abc")); !result) {
                    error = result.error();
                }
                break;
        }

        ASSERT_TRUE(error);
        EXPECT_TRUE(error->is(row.expected)) << error->code.message();
        EXPECT_EQ(error->http_status, static_cast<int>(row.status));
    }
    EXPECT_EQ(stored_pod_count(), 0U);
}

TEST_F(runpod_client_test, server_error_after_create_is_unknown_outcome) {
    faults_->on_after = [](simulated::operation operation, net::reply& reply) {
        if (operation == simulated::operation::create_pod) {
            reply = problem_reply(500, "internal error");
        }
    };

    const auto created = run_task(io_, provider().create_pod(make_create_request()));

    ASSERT_FALSE(created);
    EXPECT_TRUE(created.error().is(errc::unknown_outcome));
    EXPECT_EQ(stored_pod_count(), 1U);
}

TEST_F(runpod_client_test, lost_create_response_is_unknown_outcome) {
    faults_->on_after = [](simulated::operation operation, net::reply& reply) {
        if (operation == simulated::operation::create_pod) {
            reply.mode = net::reply_mode::close_without_reply;
        }
    };
    auto& runpod = provider();

    const auto created = run_task(io_, runpod.create_pod(make_create_request()));

    ASSERT_FALSE(created);
    EXPECT_TRUE(created.error().is(errc::unknown_outcome));
    EXPECT_EQ(created.error().http_status, 0);
    const auto listed = run_task(io_, runpod.list_pods());
    ASSERT_TRUE(listed);
    EXPECT_EQ(listed->size(), 1U);
    EXPECT_EQ(simulator_.server->call_counts()[simulated::operation::create_pod], 1U);
}

TEST_F(runpod_client_test, lost_read_response_is_transient) {
    faults_->on_after = [](simulated::operation operation, net::reply& reply) {
        if (operation == simulated::operation::list_pods) {
            reply.mode = net::reply_mode::close_without_reply;
        }
    };

    const auto listed = run_task(io_, provider().list_pods());

    ASSERT_FALSE(listed);
    EXPECT_TRUE(listed.error().is(errc::transient));
}

TEST_F(runpod_client_test, error_messages_never_carry_env_values) {
    // A server that echoes the request body in its problem detail.
    faults_->on_before = [](simulated::operation, const net::server_request& request) {
        return std::optional{problem_reply(422, request.message.body)};
    };

    const auto created = run_task(io_, provider().create_pod(make_create_request()));

    ASSERT_FALSE(created);
    EXPECT_EQ(created.error().message.find("token-value-0123456789"), std::string::npos)
        << created.error().message;
    EXPECT_EQ(created.error().message.find(simulator_.api_key), std::string::npos);
}

TEST_F(runpod_client_test, awkward_env_round_trips) {
    auto request = make_create_request();
    const std::string awkward = "a=b=c \"quoted\" 'single' \\ back\ttab\nnewline é 中文 🚀";
    request.env.emplace_back("AWKWARD", awkward);
    request.env.emplace_back("EQUALS", "==");
    request.env.emplace_back("SPACES", "  leading and trailing  ");

    const auto created = run_task(io_, provider().create_pod(request));
    ASSERT_TRUE(created) << created.error().message;

    const auto stored = json::parse(store().get(created->id).body).as_object();
    const auto& env = stored.at("env").as_object();
    EXPECT_EQ(env.at("AWKWARD").as_string(), awkward);
    EXPECT_EQ(env.at("EQUALS").as_string(), "==");
    EXPECT_EQ(env.at("SPACES").as_string(), "  leading and trailing  ");
    EXPECT_EQ(env.at("ATLAS_PRESHARED_KEY").as_string(), "token-value-0123456789");
    EXPECT_EQ(created->session_uid, "uid-1");
}

TEST_F(runpod_client_test, tracks_rate_limit_headers) {
    auto& runpod = provider();
    ASSERT_TRUE(run_task(io_, runpod.list_pods()));

    const auto* minute = runpod.last_rate_limit().find("minute");
    ASSERT_NE(minute, nullptr);
    EXPECT_EQ(minute->quota, 600);
    EXPECT_EQ(minute->remaining, 599);
    EXPECT_EQ(minute->length, 60s);
    EXPECT_NE(runpod.last_rate_limit().find("day"), nullptr);
}

TEST_F(runpod_client_test, unknown_route_is_problem_document) {
    net::client raw{io_.get_executor(), simulator_.base_url};
    for (const auto& [method, target, status] :
         {std::tuple{net::http::verb::get, "/v2/unknown", 404U},
          std::tuple{net::http::verb::put, "/v2/pods", 405U}}) {
        SCOPED_TRACE(target);
        net::request message;
        message.method = method;
        message.target = target;
        message.headers.set(net::http::field::authorization, "Bearer " + simulator_.api_key);

        const auto answer = run_task(io_, raw.send(std::move(message)));

        ASSERT_TRUE(answer) << answer.error().message();
        EXPECT_EQ(answer->status, status);
        EXPECT_EQ(answer->headers[net::http::field::content_type], "application/problem+json");
        EXPECT_NE(answer->headers.find("RateLimit"), answer->headers.end());
        EXPECT_NE(answer->headers.find("RateLimit-Policy"), answer->headers.end());
        EXPECT_EQ(json::parse(answer->body).at("status"), status);
    }
}

class exhausted_quota_test : public runpod_client_test {
    void configure(simulated::simulator_options& options) override {
        options.rate_limits = {{"minute", 2, 60s}};
    }
};

TEST_F(exhausted_quota_test, third_call_in_window_is_rate_limited) {
    auto& runpod = provider();
    ASSERT_TRUE(run_task(io_, runpod.list_pods()));
    ASSERT_TRUE(run_task(io_, runpod.list_pods()));

    now_ += 15s;
    const auto limited = run_task(io_, runpod.list_pods());

    ASSERT_FALSE(limited);
    EXPECT_TRUE(limited.error().is(errc::rate_limited));
    EXPECT_EQ(limited.error().retry_after, 45s);
    EXPECT_EQ(runpod.last_rate_limit().find("minute")->remaining, 0);

    now_ += 45s;
    EXPECT_TRUE(run_task(io_, runpod.list_pods()));
}

}  // namespace
}  // namespace podsession::providers::runpod
