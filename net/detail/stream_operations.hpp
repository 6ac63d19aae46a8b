#pragma once

// The Beast code of the client's exchanges, a template over the stream type.
// Only plain_stream.cpp and tls_stream.cpp include this file, each
// instantiating it for one stream type.

#include <algorithm>
#include <tuple>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "net/detail/connection.hpp"
#include "net/error.hpp"

namespace podsession::net::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;

inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

inline http::request<http::string_body> to_beast_request(const request& message) {
    http::request<http::string_body> outgoing{message.method, message.target, 11};
    for (const auto& field : message.headers) {
        outgoing.insert(field.name_string(), field.value());
    }
    outgoing.body() = message.body;
    outgoing.keep_alive(true);
    // Sets Content-Length, or removes it for a GET or DELETE without a body.
    outgoing.prepare_payload();
    return outgoing;
}

template <class Stream>
asio::awaitable<boost::system::error_code> write_request(Stream& stream, const request& message,
                                                         const exchange_limits& limits) {
    const auto timeout = time_left(limits.deadline, limits.read_timeout);
    if (timeout <= std::chrono::milliseconds::zero()) {
        co_return make_error_code(errc::timeout);
    }
    beast::get_lowest_layer(stream).expires_after(timeout);
    auto outgoing = to_beast_request(message);
    const auto [error, written] = co_await http::async_write(stream, outgoing, use_tuple);
    co_return error ? classify(error) : boost::system::error_code{};
}

template <class Stream>
asio::awaitable<exchange_result> stream_operations<Stream>::exchange(
    Stream& stream, beast::flat_buffer& buffer, const request& message,
    const exchange_limits& limits) {
    exchange_result result{.outcome = make_error_code(errc::timeout)};
    auto& tcp = beast::get_lowest_layer(stream);

    // Write the request.
    if (const auto error = co_await write_request(stream, message, limits)) {
        result.outcome = error;
        co_return result;
    }
    result.request_written = true;

    // Read the header, then the body, each within the read timeout and the
    // request's deadline.
    http::response_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(limits.header_limit, std::numeric_limits<std::uint32_t>::max())));
    parser.body_limit(limits.body_limit);
    if (message.method == http::verb::head) {
        parser.skip(true);
    }
    for (const bool header_only : {true, false}) {
        const auto timeout = time_left(limits.deadline, limits.read_timeout);
        if (timeout <= std::chrono::milliseconds::zero()) {
            result.outcome = make_error_code(errc::timeout);
            co_return result;
        }
        tcp.expires_after(timeout);
        const auto [error, read] =
            header_only ? co_await http::async_read_header(stream, buffer, parser, use_tuple)
                        : co_await http::async_read(stream, buffer, parser, use_tuple);
        result.response_started = result.response_started || parser.got_some();
        if (error) {
            result.outcome = classify(error);
            co_return result;
        }
    }
    tcp.expires_never();

    // Hand over the message.
    auto incoming = parser.release();
    result.keep_alive = incoming.keep_alive();
    response out;
    out.status = incoming.result_int();
    out.headers = std::move(static_cast<http::fields&>(incoming));
    out.body = std::move(incoming.body());
    result.outcome = std::move(out);
    co_return result;
}

template <class Stream>
asio::awaitable<boost::system::error_code> stream_operations<Stream>::start_stream(
    Stream& stream, beast::flat_buffer& buffer, const request& message, body_parser& parser,
    const exchange_limits& limits) {
    if (const auto error = co_await write_request(stream, message, limits)) {
        co_return error;
    }

    const auto timeout = time_left(limits.deadline, limits.read_timeout);
    if (timeout <= std::chrono::milliseconds::zero()) {
        co_return make_error_code(errc::timeout);
    }
    auto& tcp = beast::get_lowest_layer(stream);
    tcp.expires_after(timeout);
    parser.header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(limits.header_limit, std::numeric_limits<std::uint32_t>::max())));
    // A watch has no end; the caller limits each line instead.
    parser.body_limit(boost::none);
    const auto [error, read] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
    tcp.expires_never();
    co_return error ? classify(error) : boost::system::error_code{};
}

template <class Stream>
asio::awaitable<boost::system::result<std::size_t>> stream_operations<Stream>::read_body_some(
    Stream& stream, beast::flat_buffer& buffer, body_parser& parser, char* data, std::size_t size,
    std::chrono::milliseconds timeout) {
    auto& tcp = beast::get_lowest_layer(stream);

    // One read may parse only a chunk header; go on until body bytes arrive.
    while (!parser.is_done()) {
        auto& body = parser.get().body();
        body.data = data;
        body.size = size;
        body.more = true;
        tcp.expires_after(timeout);
        const auto [error, read] =
            co_await http::async_read_some(stream, buffer, parser, use_tuple);
        const std::size_t filled = size - parser.get().body().size;
        if (error && error != http::error::need_buffer) {
            co_return classify(error);
        }
        if (filled > 0) {
            co_return filled;
        }
    }
    co_return std::size_t{0};
}

}  // namespace podsession::net::detail
