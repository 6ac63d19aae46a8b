#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <utility>
#include <variant>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include "net/client.hpp"
#include "net/message.hpp"
#include "net/url.hpp"

// Internals of `net::client`, split over several translation units because
// each Beast stream type costs a long compile.
namespace podsession::net::detail {

using clock = std::chrono::steady_clock;
using plain_stream = boost::beast::tcp_stream;
using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

// One open connection to the client's origin.
struct connection {
    template <class Stream, class... Args>
    explicit connection(std::in_place_type_t<Stream> type, Args&&... args)
        : stream{type, std::forward<Args>(args)...} {}

    std::variant<plain_stream, tls_stream> stream;
    boost::beast::flat_buffer buffer;
    // When the connection was last returned to the pool.
    clock::time_point idle_since{};
    // Whether a request has already used this connection.
    bool reused = false;

    [[nodiscard]] boost::beast::tcp_stream& tcp() noexcept;
};

struct exchange_limits {
    std::chrono::milliseconds read_timeout;
    std::size_t header_limit;
    std::size_t body_limit;
    clock::time_point deadline;
};

// The result of one request on one connection, with what a retry decision
// needs to know.
struct exchange_result {
    boost::system::result<response> outcome;
    // Whether the request was written completely.
    bool request_written = false;
    // Whether any byte of a response arrived.
    bool response_started = false;
    // Whether the connection may carry another request.
    bool keep_alive = false;
};

// The time left until `deadline`, capped at `limit`; zero once it has passed.
[[nodiscard]] std::chrono::milliseconds time_left(clock::time_point deadline,
                                                  std::chrono::milliseconds limit);

// Resolves, connects and, with `tls` set, performs the TLS handshake with
// host name verification.
[[nodiscard]] boost::asio::awaitable<boost::system::result<std::unique_ptr<connection>>>
open_connection(boost::asio::any_io_executor executor, const origin& target,
                boost::asio::ssl::context* tls, std::chrono::milliseconds timeout);

// Whether an idle pooled connection still looks open: no byte and no end of
// stream is waiting on its socket.
[[nodiscard]] bool looks_reusable(connection& connection);

// Writes the request and reads the whole response.
[[nodiscard]] boost::asio::awaitable<exchange_result> exchange(connection& connection,
                                                               const request& message,
                                                               const exchange_limits& limits);

using body_parser = http::response_parser<http::buffer_body>;

// Writes the request and reads only the response header into `parser`, for a
// body that the caller reads piece by piece with `read_body_some`.
[[nodiscard]] boost::asio::awaitable<boost::system::error_code> start_stream(
    connection& connection, const request& message, body_parser& parser,
    const exchange_limits& limits);

// Reads the next piece of the body into `data`; returns the number of bytes,
// and 0 once the body is complete.
[[nodiscard]] boost::asio::awaitable<boost::system::result<std::size_t>> read_body_some(
    connection& connection, body_parser& parser, char* data, std::size_t size,
    std::chrono::milliseconds timeout);

// The same three operations for one stream type; the plain one is defined in
// plain_stream.cpp, the TLS one in tls_stream.cpp.
template <class Stream>
struct stream_operations {
    static boost::asio::awaitable<exchange_result> exchange(Stream& stream,
                                                            boost::beast::flat_buffer& buffer,
                                                            const request& message,
                                                            const exchange_limits& limits);
    static boost::asio::awaitable<boost::system::error_code> start_stream(
        Stream& stream, boost::beast::flat_buffer& buffer, const request& message,
        body_parser& parser, const exchange_limits& limits);
    static boost::asio::awaitable<boost::system::result<std::size_t>> read_body_some(
        Stream& stream, boost::beast::flat_buffer& buffer, body_parser& parser, char* data,
        std::size_t size, std::chrono::milliseconds timeout);
};

extern template struct stream_operations<plain_stream>;
extern template struct stream_operations<tls_stream>;

// Performs the client side of the TLS handshake: SNI for a host name, and
// verification that the certificate covers `host` unless the context skips
// verification.
[[nodiscard]] boost::asio::awaitable<boost::system::error_code> tls_handshake(
    tls_stream& stream, const std::string& host, std::chrono::milliseconds timeout);

void close(connection& connection);

// Builds the TLS context of a client. Throws `std::runtime_error` with the file
// name when a file cannot be loaded.
[[nodiscard]] std::shared_ptr<boost::asio::ssl::context> make_tls_context(
    const tls_options& options);

}  // namespace podsession::net::detail
