#include <string>
#include <tuple>
#include <variant>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "net/detail/connection.hpp"
#include "net/error.hpp"

namespace podsession::net::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<boost::system::result<tcp::resolver::results_type>> resolve(
    const origin& target, std::chrono::milliseconds timeout) {
    const auto executor = co_await asio::this_coro::executor;
    tcp::resolver resolver{executor};
    asio::steady_timer timer{executor, timeout};

    // The resolver has no timeout of its own; whichever finishes first wins.
    auto outcome =
        co_await (resolver.async_resolve(target.host, std::to_string(target.port), use_tuple) ||
                  timer.async_wait(use_tuple));
    if (outcome.index() == 1) {
        co_return make_error_code(errc::timeout);
    }
    auto [error, endpoints] = std::get<0>(std::move(outcome));
    if (error) {
        const auto classified = classify(error);
        co_return classified == errc::cancelled ? classified
                                                : make_error_code(errc::connect_failed);
    }
    co_return std::move(endpoints);
}

}  // namespace

std::chrono::milliseconds time_left(clock::time_point deadline, std::chrono::milliseconds limit) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now());
    return std::max(std::chrono::milliseconds::zero(), std::min(left, limit));
}

beast::tcp_stream& connection::tcp() noexcept {
    return std::visit(
        [](auto& stream) -> beast::tcp_stream& { return beast::get_lowest_layer(stream); }, stream);
}

void close(connection& connection) {
    boost::system::error_code ignored;
    auto& socket = connection.tcp().socket();
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
}

bool looks_reusable(connection& connection) {
    auto& socket = connection.tcp().socket();
    if (!socket.is_open()) {
        return false;
    }

    // A peer that closed an idle connection leaves an end of stream (or an
    // unexpected byte) readable; peeking does not block and consumes nothing.
    char byte = 0;
    boost::system::error_code error;
    const bool was_non_blocking = socket.non_blocking();
    socket.non_blocking(true, error);
    if (error) {
        return false;
    }
    socket.receive(asio::buffer(&byte, 1), tcp::socket::message_peek, error);
    boost::system::error_code restore_error;
    socket.non_blocking(was_non_blocking, restore_error);
    return error == asio::error::would_block && !restore_error;
}

asio::awaitable<boost::system::result<std::unique_ptr<connection>>> open_connection(
    asio::any_io_executor executor, const origin& target, asio::ssl::context* tls,
    std::chrono::milliseconds timeout) {
    const auto deadline = clock::now() + timeout;

    // Resolve the host.
    auto endpoints = co_await resolve(target, timeout);
    if (!endpoints) {
        co_return endpoints.error();
    }

    // Connect to the first address that accepts.
    auto opened = tls != nullptr
                      ? std::make_unique<connection>(std::in_place_type<tls_stream>, executor, *tls)
                      : std::make_unique<connection>(std::in_place_type<plain_stream>, executor);
    auto& lowest = opened->tcp();
    lowest.expires_after(time_left(deadline, timeout));
    const auto [connect_error, endpoint] = co_await lowest.async_connect(*endpoints, use_tuple);
    if (connect_error) {
        const auto classified = classify(connect_error);
        co_return classified == errc::timeout || classified == errc::cancelled
            ? classified
            : make_error_code(errc::connect_failed);
    }
    lowest.expires_never();
    boost::system::error_code ignored;
    lowest.socket().set_option(tcp::no_delay{true}, ignored);

    // Shake hands over TLS.
    if (tls != nullptr) {
        const auto left = time_left(deadline, timeout);
        if (left <= std::chrono::milliseconds::zero()) {
            co_return make_error_code(errc::timeout);
        }
        if (const auto error =
                co_await tls_handshake(std::get<tls_stream>(opened->stream), target.host, left)) {
            co_return error;
        }
    }
    co_return std::move(opened);
}

}  // namespace podsession::net::detail
