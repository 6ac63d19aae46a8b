#include "net/client.hpp"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>

#include "net/error.hpp"
#include "net/server.hpp"
#include "tests/net/run_task.hpp"

namespace podsession::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using podsession::testing::run_task;

const tcp::endpoint loopback{asio::ip::address_v4::loopback(), 0};

class client_test : public ::testing::Test {
  protected:
    // Starts the project's server with `routes` and returns its base URL.
    std::string serve(router routes, server_options options = {}) {
        server_ = std::make_unique<server>(io_.get_executor(), std::move(routes), options);
        const auto bound = server_->listen(loopback);
        EXPECT_TRUE(bound);
        return "http://" + format_endpoint(*bound);
    }

    void TearDown() override {
        if (server_) {
            server_->stop();
        }
        io_.run_for(std::chrono::seconds{5});
    }

    asio::io_context io_;
    std::unique_ptr<server> server_;
};

request make_request(http::verb method, std::string target, std::string body = {}) {
    request message;
    message.method = method;
    message.target = std::move(target);
    message.body = std::move(body);
    return message;
}

TEST_F(client_test, sends_request_and_reads_response) {
    router routes;
    routes.add(
        http::verb::post, "/echo/{name}", [](server_request& request) -> asio::awaitable<reply> {
            auto message = make_response(201, std::string{request.parameter("name")} + "|" +
                                                  std::string{request.message.headers["X-Test"]} +
                                                  "|" + request.message.body + "|" + request.query);
            message.headers.set("X-Reply", "yes");
            co_return message;
        });
    const auto url = serve(std::move(routes));
    client http{io_.get_executor(), url};

    auto message = make_request(http::verb::post, "/echo/a%20b?x=1", "payload");
    message.headers.set("X-Test", "header value");
    const auto answer = run_task(io_, http.send(std::move(message)));

    ASSERT_TRUE(answer) << answer.error().message();
    EXPECT_EQ(answer->status, 201);
    EXPECT_EQ(answer->body, "a b|header value|payload|x=1");
    EXPECT_EQ(answer->headers["X-Reply"], "yes");
}

TEST_F(client_test, prefixes_base_path) {
    router routes;
    routes.add(http::verb::get, "/api/ping", [](server_request&) -> asio::awaitable<reply> {
        co_return make_response(200, "pong");
    });
    const auto url = serve(std::move(routes));
    client http{io_.get_executor(), url + "/api/"};

    const auto answer = run_task(io_, http.send(make_request(http::verb::get, "/ping")));

    ASSERT_TRUE(answer) << answer.error().message();
    EXPECT_EQ(answer->body, "pong");
}

TEST_F(client_test, reuses_keep_alive_connection) {
    std::vector<unsigned short> client_ports;
    router routes;
    routes.add(http::verb::get, "/", [&](server_request& request) -> asio::awaitable<reply> {
        client_ports.push_back(request.remote.port());
        co_return make_response(200, "ok");
    });
    const auto url = serve(std::move(routes));
    client http{io_.get_executor(), url};

    for (int i = 0; i < 3; ++i) {
        const auto answer = run_task(io_, http.send(make_request(http::verb::get, "/")));
        ASSERT_TRUE(answer) << answer.error().message();
    }

    ASSERT_EQ(client_ports.size(), 3U);
    EXPECT_EQ(client_ports[0], client_ports[1]);
    EXPECT_EQ(client_ports[1], client_ports[2]);
}

TEST_F(client_test, queues_requests_beyond_max_connections) {
    using namespace asio::experimental::awaitable_operators;
    std::vector<unsigned short> client_ports;
    router routes;
    routes.add(http::verb::get, "/", [&](server_request& request) -> asio::awaitable<reply> {
        client_ports.push_back(request.remote.port());
        co_return make_response(200, "ok");
    });
    const auto url = serve(std::move(routes));
    client_options options;
    options.max_connections = 1;
    client http{io_.get_executor(), url, options};

    auto three = [&]() -> asio::awaitable<bool> {
        auto [first, second, third] = co_await (http.send(make_request(http::verb::get, "/")) &&
                                                http.send(make_request(http::verb::get, "/")) &&
                                                http.send(make_request(http::verb::get, "/")));
        co_return first&& second&& third;
    };
    EXPECT_TRUE(run_task(io_, three()));

    ASSERT_EQ(client_ports.size(), 3U);
    EXPECT_EQ(client_ports[0], client_ports[2]);
}

TEST_F(client_test, rejects_body_over_limit) {
    router routes;
    routes.add(http::verb::get, "/big", [](server_request&) -> asio::awaitable<reply> {
        co_return make_response(200, std::string(4096, 'x'));
    });
    const auto url = serve(std::move(routes));
    client_options options;
    options.body_limit = 1024;
    client http{io_.get_executor(), url, options};

    const auto answer = run_task(io_, http.send(make_request(http::verb::get, "/big")));

    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error(), errc::too_large);
}

TEST_F(client_test, close_cancels_pending_request) {
    client* pending_client = nullptr;
    router routes;
    routes.add(http::verb::get, "/", [&](server_request&) -> asio::awaitable<reply> {
        pending_client->close();
        co_return make_response(200, "too late");
    });
    const auto url = serve(std::move(routes));
    client http{io_.get_executor(), url};
    pending_client = &http;

    const auto answer = run_task(io_, http.send(make_request(http::verb::get, "/")));

    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error(), errc::cancelled);
}

TEST_F(client_test, router_answers_404_and_405) {
    router routes;
    routes.add(http::verb::get, "/only-get", [](server_request&) -> asio::awaitable<reply> {
        co_return make_response(200, "ok");
    });
    const auto url = serve(std::move(routes));
    client http{io_.get_executor(), url};

    const auto missing = run_task(io_, http.send(make_request(http::verb::get, "/missing")));
    const auto wrong_method = run_task(io_, http.send(make_request(http::verb::post, "/only-get")));

    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
    ASSERT_TRUE(wrong_method);
    EXPECT_EQ(wrong_method->status, 405);
    EXPECT_EQ(wrong_method->headers[http::field::allow], "GET");
}

TEST_F(client_test, server_rejects_request_body_over_limit) {
    router routes;
    routes.add(http::verb::post, "/", [](server_request&) -> asio::awaitable<reply> {
        co_return make_response(200, "accepted");
    });
    server_options options;
    options.body_limit = 100;
    const auto url = serve(std::move(routes), options);
    client http{io_.get_executor(), url};

    const auto answer =
        run_task(io_, http.send(make_request(http::verb::post, "/", std::string(1000, 'x'))));

    ASSERT_TRUE(answer) << answer.error().message();
    EXPECT_EQ(answer->status, 413);
}

TEST_F(client_test, lost_reply_reads_as_connection_reset) {
    router routes;
    routes.add(http::verb::post, "/", [](server_request&) -> asio::awaitable<reply> {
        co_return reply{make_response(200, "never sent"), reply_mode::close_without_reply};
    });
    const auto url = serve(std::move(routes));
    client http{io_.get_executor(), url};

    const auto answer = run_task(io_, http.send(make_request(http::verb::post, "/", "x")));

    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error(), errc::connection_reset);
}

TEST_F(client_test, handler_exception_becomes_500) {
    router routes;
    routes.add(http::verb::get, "/", [](server_request&) -> asio::awaitable<reply> {
        throw std::runtime_error{"handler bug"};
        co_return make_response(200, "unreachable");
    });
    const auto url = serve(std::move(routes));
    client http{io_.get_executor(), url};

    const auto answer = run_task(io_, http.send(make_request(http::verb::get, "/")));

    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 500);
}

TEST_F(client_test, stopped_server_refuses_connections) {
    router routes;
    routes.add(http::verb::get, "/", [](server_request&) -> asio::awaitable<reply> {
        co_return make_response(200, "ok");
    });
    const auto url = serve(std::move(routes));
    server_->stop();
    client http{io_.get_executor(), url};

    const auto answer = run_task(io_, http.send(make_request(http::verb::get, "/")));

    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error(), errc::connect_failed);
}

TEST(listen_endpoint, parses_and_formats_addresses) {
    const auto v4 = parse_listen_endpoint("127.0.0.1:8080");
    ASSERT_TRUE(v4);
    EXPECT_EQ(format_endpoint(*v4), "127.0.0.1:8080");
    const auto v6 = parse_listen_endpoint("[::1]:0");
    ASSERT_TRUE(v6);
    EXPECT_EQ(format_endpoint(*v6), "[::1]:0");
    const auto any = parse_listen_endpoint(":9090");
    ASSERT_TRUE(any);
    EXPECT_EQ(format_endpoint(*any), "0.0.0.0:9090");
    for (const char* text : {"", "localhost:80", "127.0.0.1", "127.0.0.1:99999", "1.2.3.4:x"}) {
        SCOPED_TRACE(text);
        EXPECT_FALSE(parse_listen_endpoint(text));
    }
}

}  // namespace
}  // namespace podsession::net
