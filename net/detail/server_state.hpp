#pragma once

#include <memory>
#include <optional>
#include <unordered_set>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "net/server.hpp"

namespace podsession::net {

// One accepted connection, as `server::stop` needs to see it.
struct server_connection {
    // The TCP layer under the connection's stream, plain or TLS.
    boost::beast::tcp_stream* lowest = nullptr;
    // Whether a request is being handled, so that `stop` lets it finish.
    bool busy = false;
};

struct server::state {
    executor_type executor;
    router routes;
    server_options options;
    // Set when the server speaks HTTPS.
    std::shared_ptr<boost::asio::ssl::context> tls;
    std::optional<boost::asio::ip::tcp::acceptor> acceptor;
    std::unordered_set<server_connection*> connections;
    // Cancelled whenever a connection ends, to wake an accept loop that waits
    // for a free slot.
    boost::asio::steady_timer slot_freed;
    bool stopping = false;

    state(executor_type executor_, router routes_, server_options options_)
        : executor{std::move(executor_)},
          routes{std::move(routes_)},
          options{std::move(options_)},
          slot_freed{executor} {}
};

namespace detail {

// Serves HTTP/1.1 on an accepted socket until the peer closes, a timeout
// passes or the server stops. One translation unit per stream type.
[[nodiscard]] boost::asio::awaitable<void> serve_plain(std::shared_ptr<server::state> self,
                                                       boost::asio::ip::tcp::socket socket);
[[nodiscard]] boost::asio::awaitable<void> serve_tls(std::shared_ptr<server::state> self,
                                                     boost::asio::ip::tcp::socket socket);

// Builds the TLS context of a server. Throws `std::runtime_error` naming the
// file that cannot be loaded.
[[nodiscard]] std::shared_ptr<boost::asio::ssl::context> make_server_tls_context(
    const server_tls_options& options);

}  // namespace detail

}  // namespace podsession::net
