// The client against a raw socket server that breaks HTTP on purpose, one
// failure per test, each expected to map onto one `net::errc`.

#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "net/client.hpp"
#include "net/error.hpp"
#include "tests/net/run_task.hpp"

namespace podsession::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using podsession::testing::run_task;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Serves each accepted connection with `behave`, which owns the socket.
using behaviour = std::function<asio::awaitable<void>(tcp::socket socket, int connection_number)>;

class raw_server {
  public:
    raw_server(asio::io_context& io, behaviour behave)
        : acceptor_{io, tcp::endpoint{asio::ip::address_v4::loopback(), 0}},
          behave_{std::move(behave)} {
        asio::co_spawn(io, accept_loop(), asio::detached);
    }

    ~raw_server() {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
    }

    std::string url() const {
        return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
    }

    int connections() const { return connections_; }

  private:
    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [error, socket] = co_await acceptor_.async_accept(use_tuple);
            if (error) {
                co_return;
            }
            ++connections_;
            asio::co_spawn(acceptor_.get_executor(), behave_(std::move(socket), connections_),
                           asio::detached);
        }
    }

    tcp::acceptor acceptor_;
    behaviour behave_;
    int connections_ = 0;
};

// Reads one request head, and its body when it has a Content-Length.
asio::awaitable<bool> read_request(tcp::socket& socket, std::string& buffer) {
    auto [error, size] = co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer),
                                                         "\r\n\r\n", use_tuple);
    if (error) {
        co_return false;
    }
    const auto length_at = buffer.find("Content-Length: ");
    std::size_t body = 0;
    if (length_at != std::string::npos && length_at < size) {
        body = std::stoul(buffer.substr(length_at + 16));
    }
    while (buffer.size() < size + body) {
        char chunk[1024];
        auto [read_error, read] = co_await socket.async_read_some(asio::buffer(chunk), use_tuple);
        if (read_error) {
            co_return false;
        }
        buffer.append(chunk, read);
    }
    buffer.erase(0, size + body);
    co_return true;
}

asio::awaitable<void> write_text(tcp::socket& socket, std::string text) {
    co_await asio::async_write(socket, asio::buffer(text), use_tuple);
}

// Waits until the client closes its end.
asio::awaitable<void> hold_open(tcp::socket& socket) {
    char byte;
    for (;;) {
        auto [error, read] = co_await socket.async_read_some(asio::buffer(&byte, 1), use_tuple);
        if (error) {
            co_return;
        }
    }
}

constexpr std::string_view ok_response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

request get(std::string target = "/") {
    request message;
    message.target = std::move(target);
    return message;
}

request post() {
    request message;
    message.method = http::verb::post;
    message.target = "/";
    message.body = "{}";
    return message;
}

client_options short_timeouts() {
    client_options options;
    options.read_timeout = std::chrono::milliseconds{200};
    options.request_timeout = std::chrono::milliseconds{2'000};
    return options;
}

class misbehaving_server_test : public ::testing::Test {
  protected:
    // Sends `message` to a server behaving as `behave` and returns the outcome.
    boost::system::result<response> exchange(behaviour behave, request message,
                                             client_options options = short_timeouts()) {
        server_ = std::make_unique<raw_server>(io_, std::move(behave));
        client http{io_.get_executor(), server_->url(), options};
        return run_task(io_, http.send(std::move(message)));
    }

    asio::io_context io_;
    std::unique_ptr<raw_server> server_;
};

TEST_F(misbehaving_server_test, silent_server_times_out) {
    const auto answer = exchange(
        [](tcp::socket socket, int) -> asio::awaitable<void> {
            std::string buffer;
            co_await read_request(socket, buffer);
            co_await hold_open(socket);
        },
        get());
    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error(), errc::timeout);
}

TEST_F(misbehaving_server_test, header_without_body_times_out) {
    const auto answer = exchange(
        [](tcp::socket socket, int) -> asio::awaitable<void> {
            std::string buffer;
            co_await read_request(socket, buffer);
            co_await write_text(socket, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
            co_await hold_open(socket);
        },
        get());
    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error(), errc::timeout);
}

TEST_F(misbehaving_server_test, truncated_body_is_connection_reset) {
    const auto answer = exchange(
        [](tcp::socket socket, int) -> asio::awaitable<void> {
            std::string buffer;
            co_await read_request(socket, buffer);
            co_await write_text(socket, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
        },
        get());
    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error(), errc::connection_reset);
}

TEST_F(misbehaving_server_test, reset_is_connection_reset) {
    const auto answer = exchange(
        [](tcp::socket socket, int) -> asio::awaitable<void> {
            std::string buffer;
            co_await read_request(socket, buffer);
            // A zero linger time makes close send RST instead of FIN.
            socket.set_option(asio::socket_base::linger{true, 0});
            socket.close();
        },
        get());
    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error(), errc::connection_reset);
}

TEST_F(misbehaving_server_test, oversize_body_is_too_large) {
    client_options options = short_timeouts();
    options.body_limit = 1000;
    const auto answer = exchange(
        [](tcp::socket socket, int) -> asio::awaitable<void> {
            std::string buffer;
            co_await read_request(socket, buffer);
            co_await write_text(socket, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
            co_await hold_open(socket);
        },
        get(), options);
    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error(), errc::too_large);
}

TEST_F(misbehaving_server_test, oversize_header_is_too_large) {
    client_options options = short_timeouts();
    options.header_limit = 1024;
    const auto answer = exchange(
        [](tcp::socket socket, int) -> asio::awaitable<void> {
            std::string buffer;
            co_await read_request(socket, buffer);
            co_await write_text(socket, "HTTP/1.1 200 OK\r\nX-Big: " + std::string(4096, 'x') +
                                            "\r\nContent-Length: 0\r\n\r\n");
            co_await hold_open(socket);
        },
        get(), options);
    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error(), errc::too_large);
}

TEST_F(misbehaving_server_test, garbage_is_protocol_error) {
    const auto answer = exchange(
        [](tcp::socket socket, int) -> asio::awaitable<void> {
            std::string buffer;
            co_await read_request(socket, buffer);
            co_await write_text(socket, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
            co_await hold_open(socket);
        },
        get());
    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error(), errc::protocol_error);
}

TEST_F(misbehaving_server_test, closed_port_is_connect_failed) {
    std::string url;
    {
        tcp::acceptor closed{io_, tcp::endpoint{asio::ip::address_v4::loopback(), 0}};
        url = "http://127.0.0.1:" + std::to_string(closed.local_endpoint().port());
    }
    client http{io_.get_executor(), url, short_timeouts()};
    const auto answer = run_task(io_, http.send(get()));
    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error(), errc::connect_failed);
}

// Responds to one request on the first connection, drops that connection
// when the second request arrives, and responds on any new connection.
behaviour drops_second_request() {
    return [](tcp::socket socket, int connection_number) -> asio::awaitable<void> {
        std::string buffer;
        if (!co_await read_request(socket, buffer)) {
            co_return;
        }
        co_await write_text(socket, std::string{ok_response});
        if (connection_number == 1 && co_await read_request(socket, buffer)) {
            socket.close();
            co_return;
        }
        co_await hold_open(socket);
    };
}

TEST_F(misbehaving_server_test, idempotent_request_is_replayed_after_stale_connection) {
    server_ = std::make_unique<raw_server>(io_, drops_second_request());
    client http{io_.get_executor(), server_->url(), short_timeouts()};

    const auto first = run_task(io_, http.send(get()));
    const auto second = run_task(io_, http.send(get()));

    ASSERT_TRUE(first) << first.error().message();
    ASSERT_TRUE(second) << second.error().message();
    EXPECT_EQ(second->body, "ok");
    EXPECT_EQ(server_->connections(), 2);
}

TEST_F(misbehaving_server_test, post_is_not_replayed_after_lost_response) {
    server_ = std::make_unique<raw_server>(io_, drops_second_request());
    client http{io_.get_executor(), server_->url(), short_timeouts()};

    const auto first = run_task(io_, http.send(post()));
    const auto second = run_task(io_, http.send(post()));

    ASSERT_TRUE(first) << first.error().message();
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error(), errc::connection_reset);
    EXPECT_EQ(server_->connections(), 1);
}

TEST_F(misbehaving_server_test, stream_returns_lines_as_chunks_arrive) {
    asio::steady_timer release_rest{io_, asio::steady_timer::time_point::max()};
    server_ =
        std::make_unique<raw_server>(io_, [&](tcp::socket socket, int) -> asio::awaitable<void> {
            std::string buffer;
            co_await read_request(socket, buffer);
            co_await write_text(socket,
                                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "2\r\na\n\r\n");
            // The rest comes only after the client has read the first line.
            co_await release_rest.async_wait(use_tuple);
            co_await write_text(socket, "9\r\nline two\r\r\n6\r\n\nthird\r\n0\r\n\r\n");
            co_await hold_open(socket);
        });
    client http{io_.get_executor(), server_->url(), short_timeouts()};

    auto read_all = [&]() -> asio::awaitable<std::vector<std::string>> {
        std::vector<std::string> lines;
        auto stream = co_await http.open_stream(get("/watch"));
        if (!stream) {
            ADD_FAILURE() << stream.error().message();
            co_return lines;
        }
        EXPECT_EQ(stream->status(), 200U);
        for (;;) {
            auto line = co_await stream->read_line();
            if (!line) {
                ADD_FAILURE() << line.error().message();
                co_return lines;
            }
            if (!*line) {
                co_return lines;
            }
            lines.push_back(**line);
            release_rest.cancel();
        }
    };
    const auto lines = run_task(io_, read_all());

    EXPECT_EQ(lines, (std::vector<std::string>{"a", "line two", "third"}));
}

TEST_F(misbehaving_server_test, stream_times_out_between_lines) {
    server_ =
        std::make_unique<raw_server>(io_, [](tcp::socket socket, int) -> asio::awaitable<void> {
            std::string buffer;
            co_await read_request(socket, buffer);
            co_await write_text(
                socket, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\na\n\r\n");
            co_await hold_open(socket);
        });
    client http{io_.get_executor(), server_->url(), short_timeouts()};

    auto read_two = [&]() -> asio::awaitable<boost::system::error_code> {
        auto stream = co_await http.open_stream(get("/watch"));
        if (!stream) {
            co_return stream.error();
        }
        auto first = co_await stream->read_line();
        EXPECT_TRUE(first);
        EXPECT_EQ(first ? first->value_or("") : "", "a");
        auto second = co_await stream->read_line();
        co_return second ? boost::system::error_code{} : second.error();
    };

    EXPECT_EQ(run_task(io_, read_two()), errc::timeout);
}

}  // namespace
}  // namespace podsession::net
