#pragma once

// The server's per-connection loop, a template over the stream type. Only
// serve_plain.cpp and serve_tls.cpp include this file, each instantiating it
// for one stream type.

#include <exception>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "net/detail/server_state.hpp"

namespace podsession::net::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;

inline constexpr auto server_use_tuple = asio::as_tuple(asio::use_awaitable);

// The status of the response to a request that could not be read completely,
// or 0 when the connection just closes.
inline unsigned status_for_read_error(const boost::system::error_code& error) {
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

inline http::response<http::string_body> to_beast_response(response&& message, bool keep_alive) {
    http::response<http::string_body> outgoing{static_cast<http::status>(message.status), 11};
    for (const auto& field : message.headers) {
        outgoing.insert(field.name_string(), field.value());
    }
    outgoing.body() = std::move(message.body);
    outgoing.keep_alive(keep_alive);
    outgoing.prepare_payload();
    return outgoing;
}

inline server_request to_server_request(http::request<http::string_body>&& incoming,
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

inline asio::awaitable<reply> handle(server::state& self, server_request& request) {
    try {
        co_return co_await self.routes.dispatch(request);
    } catch (const std::exception& error) {
        spdlog::error("HTTP handler failed target={} error={}", request.path, error.what());
    }
    co_return reply{make_response(500, "internal server error\n")};
}

// Reads requests from `stream` and writes their responses until the peer
// closes, a read times out, a handler drops the connection or the server
// stops.
template <class Stream>
asio::awaitable<void> serve_requests(server::state& self, Stream& stream,
                                     server_connection& current, const tcp::endpoint& remote) {
    auto& lowest = beast::get_lowest_layer(stream);
    beast::flat_buffer buffer;

    while (!self.stopping) {
        // Read one request within the read timeout.
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(self.options.header_limit));
        parser.body_limit(self.options.body_limit);
        lowest.expires_after(self.options.read_timeout);
        const auto [read_error, read] =
            co_await http::async_read(stream, buffer, parser, server_use_tuple);
        if (read_error) {
            // Report what the client can fix. Any other failure just closes.
            if (const unsigned status = status_for_read_error(read_error); status != 0) {
                auto outgoing =
                    to_beast_response(make_response(status, "invalid request\n"), false);
                lowest.expires_after(self.options.read_timeout);
                co_await http::async_write(stream, outgoing, server_use_tuple);
            }
            co_return;
        }

        // Handle it.
        current.busy = true;
        const bool client_keeps_alive = parser.get().keep_alive();
        auto request = to_server_request(parser.release(), remote);
        auto result = co_await handle(self, request);
        if (result.mode == reply_mode::close_without_reply) {
            co_return;
        }

        // Write the response; a stopping server closes the connection after it.
        const bool keep_alive = client_keeps_alive && !self.stopping;
        auto outgoing = to_beast_response(std::move(result.message), keep_alive);
        if (request.message.method == http::verb::head) {
            outgoing.body().clear();
        }
        lowest.expires_after(self.options.read_timeout);
        const auto [write_error, written] =
            co_await http::async_write(stream, outgoing, server_use_tuple);
        current.busy = false;
        if (write_error || !keep_alive) {
            co_return;
        }
    }
}

// Registers the connection with the server for `stop`, and unregisters and
// closes it when `serve` returns.
template <class Stream, class Serve>
asio::awaitable<void> run_connection(std::shared_ptr<server::state> self, Stream& stream,
                                     Serve serve) {
    auto& lowest = beast::get_lowest_layer(stream);
    boost::system::error_code ignored;
    const auto remote = lowest.socket().remote_endpoint(ignored);
    server_connection current{&lowest, false};
    self->connections.insert(&current);

    co_await serve(*self, stream, current, remote);

    lowest.socket().shutdown(tcp::socket::shutdown_send, ignored);
    lowest.close();
    self->connections.erase(&current);
    self->slot_freed.cancel();
}

}  // namespace podsession::net::detail
