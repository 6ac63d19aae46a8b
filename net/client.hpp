#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include "net/message.hpp"
#include "net/url.hpp"

namespace podsession::net {

enum class peer_verification {
    // Verify the server's certificate chain and that it covers the host name.
    verify,
    // Accept any certificate. Only for a kubeconfig's
    // `insecure-skip-tls-verify`; never a default.
    insecure_skip,
};

struct tls_options {
    peer_verification verification = peer_verification::verify;
    // Trusted CA certificates (PEM). Without either, the system's CA store.
    std::optional<std::filesystem::path> ca_file;
    std::string ca_pem;
    // A client certificate chain and its private key (PEM), for mutual TLS,
    // as files or in memory (a kubeconfig's `client-certificate-data`). The
    // key in memory is a secret: never log it.
    std::optional<std::filesystem::path> certificate_file;
    std::optional<std::filesystem::path> private_key_file;
    std::string certificate_pem;
    std::string private_key_pem;
};

struct client_options {
    // Resolving the host, connecting and the TLS handshake together.
    std::chrono::milliseconds connect_timeout{10'000};
    // Each read or write: the request, the response header, the body. For a
    // stream, each wait for the next line.
    std::chrono::milliseconds read_timeout{30'000};
    // The whole exchange of `send`, connecting included. Not applied to
    // `open_stream` once its header has arrived.
    std::chrono::milliseconds request_timeout{60'000};
    std::size_t header_limit = 64 * 1024;
    // The body of a `send` response, or one line of a stream.
    std::size_t body_limit = 16 * 1024 * 1024;
    // Connections open at once, in use or idle; further requests wait for one
    // to become free, within their own deadline.
    std::size_t max_connections = 16;
    // Idle keep-alive connections kept for reuse.
    std::size_t max_idle_connections = 4;
    // An idle connection older than this is closed instead of reused, because
    // servers close idle connections on their own schedule.
    std::chrono::milliseconds idle_timeout{30'000};
    std::string user_agent = "podsession";
    tls_options tls;
};

class response_stream;

// An HTTP/1.1 client for one origin (scheme, host, port) with a pool of
// keep-alive connections.
//
// Every call runs on the client's executor and must be made from it: the
// client is not thread-safe. Calls may overlap; each uses its own connection.
// Pending calls keep the client's state alive, so the `client` object may be
// destroyed while they finish (they then fail with `errc::cancelled`).
//
// A request that failed on a reused connection before any response byte came
// back is sent once more on a new connection when that is safe. It is safe when
// the request was not completely written, or when its method is idempotent
// (GET, HEAD, PUT, DELETE, OPTIONS). A POST whose response was lost is never
// sent twice.
class client {
  public:
    using executor_type = boost::asio::any_io_executor;

    // Throws `std::invalid_argument` for a base URL that `parse_origin`
    // rejects, and `std::runtime_error` when a TLS file cannot be loaded.
    client(executor_type executor, std::string_view base_url, client_options options = {});
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // Sends `request` with the base URL's path in front of its target and
    // returns the complete response, or an `errc` in `net_category()`.
    // `body_limit`, when set, replaces `client_options::body_limit` for this
    // response, for the few responses that are expected to be large.
    [[nodiscard]] boost::asio::awaitable<boost::system::result<response>> send(
        request request, std::optional<std::size_t> body_limit = std::nullopt);

    // Sends `request` and returns once the response header has arrived, for a
    // body that is read line by line as it arrives (a Kubernetes watch). The
    // connection belongs to the stream and is not reused.
    [[nodiscard]] boost::asio::awaitable<boost::system::result<response_stream>> open_stream(
        request request);

    // Closes idle connections and fails pending calls with `errc::cancelled`.
    void close();

    [[nodiscard]] const origin& target_origin() const noexcept;
    [[nodiscard]] executor_type get_executor() const noexcept;

    struct state;

  private:
    std::shared_ptr<state> state_;
};

// The body of a streamed response, read one line at a time.
class response_stream {
  public:
    struct state;

    explicit response_stream(std::unique_ptr<state> state);
    response_stream(response_stream&&) noexcept;
    response_stream& operator=(response_stream&&) noexcept;
    ~response_stream();

    [[nodiscard]] unsigned status() const noexcept;
    [[nodiscard]] const http::fields& headers() const noexcept;

    // Returns the next line of the body without its line ending (`\n` or
    // `\r\n`), or nothing once the body has ended. A last line without a line
    // ending is returned too. Each wait is bounded by the read timeout and each
    // line by the body limit.
    [[nodiscard]] boost::asio::awaitable<boost::system::result<std::optional<std::string>>>
    read_line();

    // Closes the connection; a pending `read_line` fails with
    // `errc::cancelled`.
    void close();

  private:
    std::unique_ptr<state> state_;
};

}  // namespace podsession::net
