#include "examples/inference-server/server.hpp"

#include <cstdint>
#include <iostream>
#include <optional>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "examples/inference-server/routes.hpp"

namespace example {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// The response for a request that could not be parsed, or nothing when the
// connection ended or failed and no response can reach the client.
[[nodiscard]] std::optional<response> parse_error_response(const beast::error_code& error) {
    if (error == http::error::body_limit) {
        return error_response(http::status::payload_too_large, 11, "payload_too_large");
    }
    if (error == http::error::header_limit) {
        return error_response(http::status::request_header_fields_too_large, 11,
                              "header_too_large");
    }
    // Timeouts and socket errors have other categories. A peer that closed the
    // connection between or during requests gets no response either.
    const bool is_parse_error = error.category() == http::make_error_code(http::error{}).category();
    if (is_parse_error && error != http::error::end_of_stream &&
        error != http::error::partial_message) {
        return error_response(http::status::bad_request, 11, "bad_request");
    }
    return std::nullopt;
}

void log_request(const request& message, const routed_response& routed) {
    // The path only: the query of a signed URL grants access until it expires.
    const std::string_view target = message.target();
    std::clog << "inference-server: request method=" << message.method_string()
              << " path=" << target.substr(0, target.find('?'))
              << " status=" << routed.message.result_int() << " auth=" << routed.auth << '\n';
}

asio::awaitable<void> serve_connection(beast::tcp_stream stream,
                                       const podsession::auth::pod_verifier& verifier,
                                       const server_limits& limits) {
    beast::flat_buffer buffer;
    for (;;) {
        // Read one request within the time and size limits.
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(limits.header_bytes));
        parser.body_limit(limits.body_bytes);
        stream.expires_after(limits.read_timeout);
        const auto [read_error, read_bytes] =
            co_await http::async_read(stream, buffer, parser, use_tuple);

        // Respond to a request the parser rejected, then close, because the
        // rest of the stream cannot be trusted to start at a message boundary.
        if (read_error) {
            if (auto reply = parse_error_response(read_error)) {
                std::clog << "inference-server: request rejected status=" << reply->result_int()
                          << " error=\"" << read_error.message() << "\"\n";
                reply->keep_alive(false);
                reply->prepare_payload();
                stream.expires_after(limits.write_timeout);
                co_await http::async_write(stream, *reply, use_tuple);
            }
            break;
        }

        // Route the request and write the response.
        const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
        auto routed = handle_request(parser.get(), verifier, now);
        log_request(parser.get(), routed);
        routed.message.keep_alive(parser.get().keep_alive());
        routed.message.prepare_payload();
        stream.expires_after(limits.write_timeout);
        const auto [write_error, written_bytes] =
            co_await http::async_write(stream, routed.message, use_tuple);
        if (write_error || !routed.message.keep_alive()) {
            break;
        }
    }

    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace

asio::awaitable<void> accept_connections(tcp::acceptor& acceptor,
                                         const podsession::auth::pod_verifier& verifier,
                                         const server_limits& limits) {
    for (;;) {
        auto [error, socket] = co_await acceptor.async_accept(use_tuple);
        if (error == asio::error::operation_aborted || !acceptor.is_open()) {
            co_return;
        }
        if (error) {
            // NOTE: out of file descriptors (EMFILE), this loop retries at once
            // and logs every failure. A production server would back off.
            std::clog << "inference-server: accept failed error=\"" << error.message() << "\"\n";
            continue;
        }
        asio::co_spawn(acceptor.get_executor(),
                       serve_connection(beast::tcp_stream{std::move(socket)}, verifier, limits),
                       asio::detached);
    }
}

}  // namespace example
