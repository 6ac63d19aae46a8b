// The RunPod client against the simulator over loopback HTTP: the real
// request path, with faults scripted per test.

#include "providers/runpod/client.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <tuple>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
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
        options.timing = manual_timing();
        options.max_rate_limit_wait = max_rate_limit_wait_;
        client_ = std::make_unique<client>(io_.get_executor(), std::move(options));
        return *client_;
    }

    // Time that moves only when the client sleeps. Each sleep is recorded and
    // moves the client's clock and the simulator's clock to its end, unless
    // another sleep already moved them further, so that requests sleeping
    // side by side take the time of the longest, as they would in real time.
    client_timing manual_timing() {
        client_timing timing;
        timing.now = [this] { return steady_now_; };
        timing.sleep = [this](std::chrono::milliseconds delay) -> asio::awaitable<void> {
            if (delay <= rate_limiter::probe_interval) {
                // A wait for a response in flight, which arrives in real time.
                asio::steady_timer pause{io_, 1ms};
                co_await pause.async_wait(asio::use_awaitable);
                co_return;
            }
            sleeps_.push_back(delay);
            const auto wake_at = steady_now_ + delay;
            co_await asio::post(io_.get_executor(), asio::use_awaitable);
            if (wake_at > steady_now_) {
                now_ += wake_at - steady_now_;
                steady_now_ = wake_at;
            }
        };
        timing.jitter_seed = 7;
        return timing;
    }

    std::chrono::milliseconds total_sleep() const {
        std::chrono::milliseconds total{0};
        for (const auto delay : sleeps_) {
            total += delay;
        }
        return total;
    }

    simulated::pod_store& store() { return simulator_.server->store(); }

    std::size_t stored_pod_count() { return store().admin_pods().size(); }

    asio::io_context io_;
    simulated::sim_clock::time_point now_ =
        simulated::sim_clock::time_point{} + std::chrono::hours{24 * 365 * 56};
    rate_limiter::clock::time_point steady_now_ = rate_limiter::clock::time_point{} + 1h;
    std::vector<std::chrono::milliseconds> sleeps_;
    std::chrono::milliseconds max_rate_limit_wait_{30s};
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

TEST_F(runpod_client_test, only_the_list_may_exceed_the_body_limit) {
    auto& runpod = provider();
    const auto created = run_task(io_, runpod.create_pod(make_create_request()));
    ASSERT_TRUE(created) << created.error().message;

    // Enough copies of the pod to exceed the body limit of every other
    // response.
    const std::string pod = store().get(created->id).body;
    const std::size_t default_limit = net::client_options{}.body_limit;
    std::string large = R"({"pods":[)" + pod;
    std::size_t copies = 1;
    while (large.size() <= default_limit) {
        large += "," + pod;
        copies += 1;
    }
    large += "]}";
    faults_->on_after = [&](simulated::operation operation, net::reply& reply) {
        if (operation == simulated::operation::list_pods ||
            operation == simulated::operation::get_pod) {
            reply.message.body = large;
        }
    };

    const auto listed = run_task(io_, runpod.list_pods());
    ASSERT_TRUE(listed) << listed.error().message;
    EXPECT_EQ(listed->size(), copies);

    const auto fetched = run_task(io_, runpod.get_pod(created->id));
    ASSERT_FALSE(fetched);
    EXPECT_TRUE(fetched.error().is(errc::transient));
    EXPECT_NE(fetched.error().message.find("exceeds the size limit"), std::string::npos)
        << fetched.error().message;
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

class small_quota_test : public runpod_client_test {
    void configure(simulated::simulator_options& options) override {
        options.rate_limits = {{"minute", 2, 60s}};
        max_rate_limit_wait_ = 2min;
    }
};

TEST_F(small_quota_test, waits_for_window_reset_instead_of_sending) {
    auto& runpod = provider();
    ASSERT_TRUE(run_task(io_, runpod.list_pods()));
    ASSERT_TRUE(run_task(io_, runpod.list_pods()));
    EXPECT_EQ(runpod.limiter().available("minute"), 0);

    const auto third = run_task(io_, runpod.list_pods());

    ASSERT_TRUE(third) << third.error().message;
    EXPECT_GE(total_sleep(), 60s);
    EXPECT_EQ(simulator_.server->call_counts()[simulated::operation::list_pods], 3U);
    for (const auto& exchange : simulator_.server->exchanges()) {
        EXPECT_NE(exchange.status, 429U);
    }
}

TEST_F(small_quota_test, concurrent_reads_stay_within_quota) {
    // The last reads wait four windows or more: a window that resets while a
    // request is in flight counts that request against the new window too.
    max_rate_limit_wait_ = 10min;
    auto& runpod = provider();
    const auto started = steady_now_;
    constexpr int reads = 9;
    int succeeded = 0;
    int finished = 0;
    for (int i = 0; i < reads; ++i) {
        asio::co_spawn(io_, runpod.list_pods(),
                       [&](std::exception_ptr failure, result<std::vector<crd::observed_pod>> got) {
                           ++finished;
                           if (!failure && got) {
                               ++succeeded;
                           }
                       });
    }
    run_task(io_, [&]() -> asio::awaitable<void> {
        while (finished < reads) {
            co_await asio::post(io_.get_executor(), asio::use_awaitable);
        }
    }());

    EXPECT_EQ(succeeded, reads);
    EXPECT_EQ(simulator_.server->call_counts()[simulated::operation::list_pods],
              static_cast<std::size_t>(reads));
    for (const auto& exchange : simulator_.server->exchanges()) {
        EXPECT_NE(exchange.status, 429U);
    }
    // Nine requests at two per minute take four window resets.
    EXPECT_GE(steady_now_ - started, 4 * 60s);
}

class hourly_quota_test : public runpod_client_test {
    void configure(simulated::simulator_options& options) override {
        options.rate_limits = {{"hour", 2, 3600s}};
    }
};

TEST_F(hourly_quota_test, long_wait_fails_unsent) {
    auto& runpod = provider();
    ASSERT_TRUE(run_task(io_, runpod.list_pods()));
    ASSERT_TRUE(run_task(io_, runpod.list_pods()));

    const auto limited = run_task(io_, runpod.list_pods());

    ASSERT_FALSE(limited);
    EXPECT_TRUE(limited.error().is(errc::rate_limited));
    EXPECT_EQ(limited.error().http_status, 0);
    ASSERT_TRUE(limited.error().retry_after);
    EXPECT_GT(*limited.error().retry_after, 3500s);
    EXPECT_EQ(simulator_.server->call_counts()[simulated::operation::list_pods], 2U);
    EXPECT_TRUE(sleeps_.empty());
}

TEST_F(runpod_client_test, retry_after_holds_back_every_request) {
    std::vector<simulated::sim_clock::time_point> arrivals;
    std::vector<simulated::sim_clock::time_point> limited_at;
    faults_->on_before = [&](simulated::operation, const net::server_request&) {
        arrivals.push_back(now_);
        if (limited_at.size() >= 3) {
            return std::optional<net::reply>{};
        }
        limited_at.push_back(now_);
        auto reply = problem_reply(429, "slow down");
        reply.message.headers.set(net::http::field::retry_after, "7");
        return std::optional{std::move(reply)};
    };
    auto& runpod = provider();

    int finished = 0;
    int succeeded = 0;
    for (int i = 0; i < 3; ++i) {
        asio::co_spawn(io_, runpod.list_pods(),
                       [&](std::exception_ptr failure, result<std::vector<crd::observed_pod>> got) {
                           ++finished;
                           succeeded += !failure && got ? 1 : 0;
                       });
    }
    run_task(io_, [&]() -> asio::awaitable<void> {
        while (finished < 3) {
            co_await asio::post(io_.get_executor(), asio::use_awaitable);
        }
    }());

    EXPECT_EQ(succeeded, 3);
    ASSERT_EQ(limited_at.size(), 3U);
    for (const auto limited : limited_at) {
        for (const auto arrival : arrivals) {
            EXPECT_FALSE(arrival > limited && arrival < limited + 7s)
                << "a request arrived " << (arrival - limited) / 1ms << " ms after a 429";
        }
    }
}

TEST_F(runpod_client_test, reads_retry_transient_failures_with_backoff) {
    int failures_left = 2;
    faults_->on_before = [&](simulated::operation, const net::server_request&) {
        if (failures_left == 0) {
            return std::optional<net::reply>{};
        }
        --failures_left;
        return std::optional{problem_reply(503, "busy")};
    };

    const auto listed = run_task(io_, provider().list_pods());

    ASSERT_TRUE(listed) << listed.error().message;
    EXPECT_EQ(simulator_.server->call_counts()[simulated::operation::list_pods], 3U);
    ASSERT_EQ(sleeps_.size(), 2U);
    EXPECT_GE(sleeps_[0], 125ms);
    EXPECT_LE(sleeps_[0], 250ms);
    EXPECT_GE(sleeps_[1], 250ms);
    EXPECT_LE(sleeps_[1], 500ms);
}

TEST_F(runpod_client_test, reads_stop_after_max_attempts) {
    faults_->on_before = [](simulated::operation, const net::server_request&) {
        return std::optional{problem_reply(500, "down")};
    };

    const auto fetched = run_task(io_, provider().get_pod("abc"));

    ASSERT_FALSE(fetched);
    EXPECT_TRUE(fetched.error().is(errc::transient));
    EXPECT_EQ(simulator_.server->call_counts()[simulated::operation::get_pod], 4U);
    EXPECT_EQ(sleeps_.size(), 3U);
}

TEST_F(runpod_client_test, creates_are_never_sent_twice) {
    for (const unsigned status : {500U, 503U, 429U}) {
        SCOPED_TRACE(status);
        faults_->on_before = [&](simulated::operation, const net::server_request&) {
            return std::optional{problem_reply(status, "scripted")};
        };
        const auto before = simulator_.server->call_counts()[simulated::operation::create_pod];

        const auto created = run_task(io_, provider().create_pod(make_create_request()));

        ASSERT_FALSE(created);
        EXPECT_EQ(simulator_.server->call_counts()[simulated::operation::create_pod], before + 1);
    }
}

TEST_F(runpod_client_test, lost_delete_response_retries_to_not_found) {
    auto& runpod = provider();
    const auto created = run_task(io_, runpod.create_pod(make_create_request()));
    ASSERT_TRUE(created) << created.error().message;
    bool dropped = false;
    faults_->on_after = [&](simulated::operation operation, net::reply& reply) {
        if (operation == simulated::operation::delete_pod && !dropped) {
            dropped = true;
            reply.mode = net::reply_mode::close_without_reply;
        }
    };

    const auto terminated = run_task(io_, runpod.terminate_pod(created->id));

    ASSERT_FALSE(terminated);
    EXPECT_TRUE(terminated.error().is(errc::not_found));
    EXPECT_EQ(simulator_.server->call_counts()[simulated::operation::delete_pod], 2U);
    EXPECT_EQ(store().status_of(created->id), crd::pod_status::terminated);
}

TEST_F(runpod_client_test, rotated_key_file_applies_without_restart) {
    const auto directory = std::filesystem::temp_directory_path() /
                           ("podsession-key-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(directory);
    const auto key_file = directory / "runpod-api-key";
    const auto write_key = [&](const std::string& key) {
        // A new file renamed over the old one, as a Secret volume updates.
        const auto staged = directory / "staged";
        std::ofstream{staged} << key << "\n";
        std::filesystem::rename(staged, key_file);
    };
    write_key("rpa_STALE_KEY_0123456789");
    client_options options;
    options.base_url = simulator_.base_url;
    options.api_key_file = key_file;
    options.timing = manual_timing();
    client runpod{io_.get_executor(), std::move(options)};

    const auto rejected = run_task(io_, runpod.list_pods());
    write_key(simulator_.api_key);
    const auto accepted = run_task(io_, runpod.list_pods());

    ASSERT_FALSE(rejected);
    EXPECT_TRUE(rejected.error().is(errc::unauthorized));
    EXPECT_EQ(rejected.error().message.find("rpa_STALE_KEY"), std::string::npos);
    ASSERT_TRUE(accepted) << accepted.error().message;
    std::filesystem::remove_all(directory);
}

TEST_F(runpod_client_test, missing_key_file_throws_with_its_name) {
    client_options options;
    options.base_url = simulator_.base_url;
    options.api_key_file = "/nonexistent/runpod-api-key";
    try {
        client runpod{io_.get_executor(), std::move(options)};
        FAIL() << "no exception";
    } catch (const std::runtime_error& error) {
        EXPECT_NE(std::string{error.what()}.find("/nonexistent/runpod-api-key"), std::string::npos);
    }
}

}  // namespace
}  // namespace podsession::providers::runpod
