#pragma once

#include <chrono>
#include <cstddef>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "auth/verifier.hpp"

namespace example {

// Bounds on every read, so that a slow or hostile client cannot hold a
// connection or memory without limit.
struct server_limits {
    // Time for a whole request, headers and body, and for a keep-alive
    // connection to send its next request.
    std::chrono::seconds read_timeout{30};
    std::chrono::seconds write_timeout{30};
    std::size_t header_bytes = 8 * 1024;
    std::size_t body_bytes = 64 * 1024;
};

// Accepts connections until the acceptor is closed and serves each in its own
// coroutine. `verifier` and `limits` must outlive the io_context.
[[nodiscard]] boost::asio::awaitable<void> accept_connections(
    boost::asio::ip::tcp::acceptor& acceptor, const podsession::auth::pod_verifier& verifier,
    const server_limits& limits);

}  // namespace example
