#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/result.hpp>

#include "net/message.hpp"

namespace podsession::net {

// A request as the server passes it to a handler.
struct server_request {
    request message;
    // The target split at `?`, both still percent-encoded.
    std::string path;
    std::string query;
    // Values of the route's `{name}` segments, percent-decoded.
    std::vector<std::pair<std::string, std::string>> path_parameters;
    boost::asio::ip::tcp::endpoint remote;

    // Returns the value of the route segment `{name}`, or an empty view.
    [[nodiscard]] std::string_view parameter(std::string_view name) const;
};

// The server's action on a handler's result. `close_without_reply` drops the
// connection as if the response had been lost, for simulating faults.
enum class reply_mode { send, close_without_reply };

struct reply {
    response message;
    reply_mode mode = reply_mode::send;

    reply(response message_, reply_mode mode_ = reply_mode::send)  // NOLINT: implicit on purpose
        : message{std::move(message_)}, mode{mode_} {}
};

using handler = std::function<boost::asio::awaitable<reply>(server_request&)>;

// Maps method and path to a handler. A pattern is a path whose segments are
// literals or `{name}`, which matches any one non-empty segment.
class router {
  public:
    // Builds the response for a path that matches no route (404) or no route
    // with this method (405); the default is a plain-text body.
    using error_responder = std::function<response(unsigned status, const server_request&)>;

    void add(http::verb method, std::string_view pattern, handler handler);
    void set_error_responder(error_responder responder);

    // Runs the handler of the first matching route, or returns 404 / 405
    // (with an `Allow` header).
    [[nodiscard]] boost::asio::awaitable<reply> dispatch(server_request& request) const;

  private:
    struct route {
        http::verb method;
        std::vector<std::string> segments;
        handler run;
    };

    std::vector<route> routes_;
    error_responder error_responder_;
};

// The identity an HTTPS server presents, both files in PEM.
struct server_tls_options {
    // The server's certificate first, then any intermediate CA certificates.
    std::filesystem::path certificate_chain_file;
    std::filesystem::path private_key_file;
};

struct server_options {
    // Waiting for a request's header and body, and writing its response. An
    // idle keep-alive connection is closed after this time as well.
    std::chrono::milliseconds read_timeout{30'000};
    std::size_t header_limit = 16 * 1024;
    std::size_t body_limit = 1024 * 1024;
    // Connections served at once; further ones wait in the listen backlog.
    std::size_t max_connections = 512;
    // Serves HTTPS with this identity instead of plain HTTP.
    std::optional<server_tls_options> tls;
};

// An HTTP/1.1 server with keep-alive, run on the given executor.
class server {
  public:
    using executor_type = boost::asio::any_io_executor;

    // Throws `std::runtime_error` naming the file when `options.tls` is set and
    // its certificate or key cannot be loaded.
    server(executor_type executor, router routes, server_options options = {});
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Binds `endpoint` (port 0 picks a free port) and starts accepting.
    // Returns the bound endpoint.
    [[nodiscard]] boost::system::result<boost::asio::ip::tcp::endpoint> listen(
        const boost::asio::ip::tcp::endpoint& endpoint);

    // Stops accepting and closes idle connections. A request being handled
    // gets its response, then its connection closes. Returns at once; the
    // executor's work ends when the last connection has closed.
    void stop();

    [[nodiscard]] std::optional<boost::asio::ip::tcp::endpoint> local_endpoint() const;

    struct state;

  private:
    std::shared_ptr<state> state_;
};

// Builds a response with `Content-Type` set.
[[nodiscard]] response make_response(unsigned status, std::string body,
                                     std::string_view content_type = "text/plain; charset=utf-8");

// Parses `ADDR:PORT`, `[v6]:PORT` or `:PORT` (all interfaces) as a listen
// endpoint. Host names are not resolved.
[[nodiscard]] boost::system::result<boost::asio::ip::tcp::endpoint> parse_listen_endpoint(
    std::string_view text);

// Formats an endpoint as `parse_listen_endpoint` reads it.
[[nodiscard]] std::string format_endpoint(const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace podsession::net
