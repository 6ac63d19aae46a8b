#include "controller/kubernetes/event_recorder.hpp"

#include <functional>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>

#include "net/server.hpp"

namespace podsession::controller::kubernetes {
namespace {

namespace asio = boost::asio;
namespace http = net::http;

// One request the fake Events API received.
struct received {
    std::string method;
    std::string path;
    boost::json::value body;
};

// Serves core/v1 Events on loopback and records every request in order.
class event_recorder_test : public ::testing::Test {
  protected:
    void SetUp() override {
        net::router routes;
        const auto record = [this](net::server_request& request) -> asio::awaitable<net::reply> {
            requests_.push_back({std::string{http::to_string(request.message.method)}, request.path,
                                 boost::json::parse(request.message.body)});
            const unsigned status =
                request.message.method == http::verb::patch ? patch_status_ : 201;
            co_return net::reply{net::make_response(status, "{}", "application/json")};
        };
        routes.add(http::verb::post, "/api/v1/namespaces/{namespace}/events", record);
        routes.add(http::verb::patch, "/api/v1/namespaces/{namespace}/events/{name}", record);
        server_.emplace(io_.get_executor(), std::move(routes));
        const auto bound = server_->listen({asio::ip::make_address("127.0.0.1"), 0});
        ASSERT_TRUE(bound.has_value());

        connection_config config;
        config.server = "http://127.0.0.1:" + std::to_string(bound->port());
        client_.emplace(io_.get_executor(), config, api_client::options{});
        session_.name = "user-42";
        session_.namespace_name = "apps";
        session_.uid = "u-1";
    }

    void TearDown() override {
        client_->close();
        server_->stop();
    }

    event_recorder make_recorder(double burst = 25) {
        event_recorder::options options;
        options.instance = "ctl-a";
        options.burst = burst;
        return event_recorder{io_.get_executor(), *client_, options};
    }

    // Runs the loop until `count` requests arrived and nothing is in flight.
    // Bounded, so a lost request fails the test instead of hanging it.
    void run_until_received(std::size_t count) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
        while (requests_.size() < count && std::chrono::steady_clock::now() < deadline) {
            io_.run_one_for(std::chrono::milliseconds{50});
        }
        // Let the recorder handle the last response.
        for (int i = 0; i < 20; ++i) {
            io_.poll();
        }
        ASSERT_GE(requests_.size(), count);
    }

    reconcile::note warning(std::string message) {
        return {"apps/user-42", reconcile::note_type::warning, "InvalidSpec", std::move(message)};
    }

    asio::io_context io_;
    std::optional<net::server> server_;
    std::optional<api_client> client_;
    crd::object_meta session_;
    std::vector<received> requests_;
    unsigned patch_status_ = 200;
};

TEST_F(event_recorder_test, repeat_raises_count) {
    auto recorder = make_recorder();
    recorder.record(session_, warning("spec.gpu.types[0] is wrong"));
    run_until_received(1);
    recorder.record(session_, warning("spec.gpu.types[0] is wrong"));
    run_until_received(2);
    recorder.record(session_, warning("spec.gpu.types[0] is wrong"));
    run_until_received(3);

    ASSERT_EQ(requests_.size(), 3u);
    EXPECT_EQ(requests_[0].method, "POST");
    EXPECT_EQ(requests_[0].path, "/api/v1/namespaces/apps/events");
    const auto& event = requests_[0].body;
    EXPECT_EQ(event.at("type"), "Warning");
    EXPECT_EQ(event.at("reason"), "InvalidSpec");
    EXPECT_EQ(event.at("count"), 1);
    EXPECT_EQ(event.at("involvedObject").at("uid"), "u-1");
    const std::string name{event.at("metadata").at("name").as_string()};
    EXPECT_TRUE(name.starts_with("user-42.")) << name;

    for (std::size_t i = 1; i < 3; ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(requests_[i].method, "PATCH");
        EXPECT_EQ(requests_[i].path, "/api/v1/namespaces/apps/events/" + name);
        EXPECT_EQ(requests_[i].body.at("count"), static_cast<int>(i + 1));
    }
}

TEST_F(event_recorder_test, repeats_before_write_coalesce) {
    auto recorder = make_recorder();
    for (int i = 0; i < 5; ++i) {
        recorder.record(session_, warning("same"));
    }
    run_until_received(1);
    for (int i = 0; i < 20; ++i) {
        io_.run_one_for(std::chrono::milliseconds{10});
    }
    ASSERT_EQ(requests_.size(), 1u);
    EXPECT_EQ(requests_[0].method, "POST");
    EXPECT_EQ(requests_[0].body.at("count"), 5);
}

TEST_F(event_recorder_test, repeats_during_write_follow_it) {
    auto recorder = make_recorder();
    recorder.record(session_, warning("same"));
    // Start the POST, then repeat the note while it is on the wire.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
    while (requests_.empty() && std::chrono::steady_clock::now() < deadline) {
        io_.run_one_for(std::chrono::milliseconds{10});
    }
    recorder.record(session_, warning("same"));
    recorder.record(session_, warning("same"));
    run_until_received(2);
    ASSERT_EQ(requests_.size(), 2u);
    EXPECT_EQ(requests_[0].body.at("count"), 1);
    EXPECT_EQ(requests_[1].method, "PATCH");
    EXPECT_EQ(requests_[1].body.at("count"), 3);
}

TEST_F(event_recorder_test, other_message_is_another_event) {
    auto recorder = make_recorder();
    recorder.record(session_, warning("first"));
    recorder.record(session_, warning("second"));
    run_until_received(2);
    ASSERT_EQ(requests_.size(), 2u);
    EXPECT_EQ(requests_[0].method, "POST");
    EXPECT_EQ(requests_[1].method, "POST");
    EXPECT_NE(requests_[0].body.at("metadata").at("name"),
              requests_[1].body.at("metadata").at("name"));
}

TEST_F(event_recorder_test, burst_limits_writes_per_object) {
    auto recorder = make_recorder(3);
    for (int i = 0; i < 6; ++i) {
        recorder.record(session_, warning("note " + std::to_string(i)));
    }
    run_until_received(3);
    for (int i = 0; i < 20; ++i) {
        io_.run_one_for(std::chrono::milliseconds{10});
    }
    EXPECT_EQ(requests_.size(), 3u);

    // Another session has a bucket of its own.
    auto other = session_;
    other.name = "user-43";
    other.uid = "u-2";
    recorder.record(other, warning("note"));
    run_until_received(4);
    EXPECT_EQ(requests_.size(), 4u);
}

TEST_F(event_recorder_test, expired_event_created_again) {
    auto recorder = make_recorder();
    recorder.record(session_, warning("same"));
    run_until_received(1);
    patch_status_ = 404;
    recorder.record(session_, warning("same"));
    run_until_received(3);
    ASSERT_EQ(requests_.size(), 3u);
    EXPECT_EQ(requests_[1].method, "PATCH");
    EXPECT_EQ(requests_[2].method, "POST");
    EXPECT_EQ(requests_[2].body.at("count"), 2);
    EXPECT_EQ(requests_[2].body.at("metadata").at("name"),
              requests_[0].body.at("metadata").at("name"));
}

TEST_F(event_recorder_test, long_object_name_is_cut) {
    auto recorder = make_recorder();
    session_.name = std::string(253, 'a');
    recorder.record(session_, warning("note"));
    run_until_received(1);
    EXPECT_LE(requests_[0].body.at("metadata").at("name").as_string().size(), 253u);
}

}  // namespace
}  // namespace podsession::controller::kubernetes
