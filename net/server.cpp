#include "net/server.hpp"

#include <exception>
#include <unordered_set>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace podsession::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct session {
    beast::tcp_stream stream;
    // Whether a request is being handled, so that `stop` lets it finish.
    bool busy = false;
};

// The status of the response to a request that could not be read completely,
// or 0 when the connection just closes.
unsigned status_for_read_error(const boost::system::error_code& error) {
    if (error == http::error::body_limit) {
        return 413;
    }
    if (error == http::error::header_limit) {
        return 431;
    }
    if (error.category() == http::make_error_code(http::error::bad_version).category() &&
        error != http::error::end_of_stream && error != http::error::partial_message) {
        return 400;
    }
    return 0;
}

http::response<http::string_body> to_beast_response(response&& message, bool keep_alive) {
    http::response<http::string_body> outgoing{static_cast<http::status>(message.status), 11};
    for (const auto& field : message.headers) {
        outgoing.insert(field.name_string(), field.value());
    }
    outgoing.body() = std::move(message.body);
    outgoing.keep_alive(keep_alive);
    outgoing.prepare_payload();
    return outgoing;
}

server_request to_server_request(http::request<http::string_body>&& incoming,
                                 const tcp::endpoint& remote) {
    server_request request;
    request.message.method = incoming.method();
    request.message.target = std::string{incoming.target()};
    request.message.body = std::move(incoming.body());
    request.message.headers = std::move(static_cast<http::fields&>(incoming));
    const auto query = request.message.target.find('?');
    request.path = request.message.target.substr(0, query);
    if (query != std::string::npos) {
        request.query = request.message.target.substr(query + 1);
    }
    request.remote = remote;
    return request;
}

}  // namespace

struct server::state {
    executor_type executor;
    router routes;
    server_options options;
    std::optional<tcp::acceptor> acceptor;
    std::unordered_set<session*> sessions;
    // Cancelled whenever a session ends, to wake an accept loop that waits
    // for a free slot.
    asio::steady_timer slot_freed;
    bool stopping = false;

    state(executor_type executor_, router routes_, server_options options_)
        : executor{std::move(executor_)},
          routes{std::move(routes_)},
          options{options_},
          slot_freed{executor} {}
};

namespace {

asio::awaitable<reply> handle(server::state& self, server_request& request) {
    try {
        co_return co_await self.routes.dispatch(request);
    } catch (const std::exception& error) {
        spdlog::error("HTTP handler failed target={} error={}", request.path, error.what());
    }
    co_return reply{make_response(500, "internal server error\n")};
}

asio::awaitable<void> serve(std::shared_ptr<server::state> self, tcp::socket socket) {
    boost::system::error_code ignored;
    const auto remote = socket.remote_endpoint(ignored);
    session current{beast::tcp_stream{std::move(socket)}};
    self->sessions.insert(&current);
    beast::flat_buffer buffer;

    while (!self->stopping) {
        // Read one request within the read timeout.
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(self->options.header_limit));
        parser.body_limit(self->options.body_limit);
        current.stream.expires_after(self->options.read_timeout);
        const auto [read_error, read] =
            co_await http::async_read(current.stream, buffer, parser, use_tuple);
        if (read_error) {
            // Report what the client can fix. Any other failure just closes.
            if (const unsigned status = status_for_read_error(read_error); status != 0) {
                auto outgoing =
                    to_beast_response(make_response(status, "invalid request\n"), false);
                current.stream.expires_after(self->options.read_timeout);
                co_await http::async_write(current.stream, outgoing, use_tuple);
            }
            break;
        }

        // Handle it.
        current.busy = true;
        const bool client_keeps_alive = parser.get().keep_alive();
        auto request = to_server_request(parser.release(), remote);
        auto result = co_await handle(*self, request);
        if (result.mode == reply_mode::close_without_reply) {
            break;
        }

        // Write the response; a stopping server closes the connection after it.
        const bool keep_alive = client_keeps_alive && !self->stopping;
        auto outgoing = to_beast_response(std::move(result.message), keep_alive);
        if (request.message.method == http::verb::head) {
            outgoing.body().clear();
        }
        current.stream.expires_after(self->options.read_timeout);
        const auto [write_error, written] =
            co_await http::async_write(current.stream, outgoing, use_tuple);
        current.busy = false;
        if (write_error || !keep_alive) {
            break;
        }
    }

    current.stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    current.stream.close();
    self->sessions.erase(&current);
    self->slot_freed.cancel();
}

asio::awaitable<void> accept_loop(std::shared_ptr<server::state> self) {
    while (!self->stopping) {
        // Wait while every connection slot is taken.
        if (self->sessions.size() >= self->options.max_connections) {
            self->slot_freed.expires_at(asio::steady_timer::time_point::max());
            co_await self->slot_freed.async_wait(use_tuple);
            continue;
        }

        auto [error, socket] = co_await self->acceptor->async_accept(use_tuple);
        if (self->stopping) {
            break;
        }
        if (error) {
            // Running out of descriptors must not spin: pause before retrying.
            spdlog::warn("HTTP accept failed error={}", error.message());
            asio::steady_timer pause{self->executor, std::chrono::milliseconds{100}};
            co_await pause.async_wait(use_tuple);
            continue;
        }
        asio::co_spawn(self->executor, serve(self, std::move(socket)), asio::detached);
    }
}

}  // namespace

server::server(executor_type executor, router routes, server_options options)
    : state_{std::make_shared<state>(std::move(executor), std::move(routes), options)} {}

server::~server() {
    stop();
}

boost::system::result<tcp::endpoint> server::listen(const tcp::endpoint& endpoint) {
    boost::system::error_code error;
    tcp::acceptor acceptor{state_->executor};
    acceptor.open(endpoint.protocol(), error);
    if (!error) {
        acceptor.set_option(tcp::acceptor::reuse_address(true), error);
    }
    if (!error) {
        acceptor.bind(endpoint, error);
    }
    if (!error) {
        acceptor.listen(asio::socket_base::max_listen_connections, error);
    }
    if (error) {
        return error;
    }
    const auto bound = acceptor.local_endpoint(error);
    if (error) {
        return error;
    }
    state_->acceptor.emplace(std::move(acceptor));
    asio::co_spawn(state_->executor, accept_loop(state_), asio::detached);
    return bound;
}

void server::stop() {
    auto& self = *state_;
    if (self.stopping) {
        return;
    }
    self.stopping = true;
    boost::system::error_code ignored;
    if (self.acceptor) {
        self.acceptor->close(ignored);
    }
    self.slot_freed.cancel();
    for (auto* current : self.sessions) {
        if (!current->busy) {
            current->stream.socket().cancel(ignored);
        }
    }
}

std::optional<tcp::endpoint> server::local_endpoint() const {
    if (!state_->acceptor || !state_->acceptor->is_open()) {
        return std::nullopt;
    }
    boost::system::error_code error;
    auto endpoint = state_->acceptor->local_endpoint(error);
    if (error) {
        return std::nullopt;
    }
    return endpoint;
}

}  // namespace podsession::net
