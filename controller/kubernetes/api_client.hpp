#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/value.hpp>

#include "controller/kubernetes/api_error.hpp"
#include "controller/kubernetes/config.hpp"
#include "controller/kubernetes/watch_event.hpp"
#include "controller/log.hpp"
#include "net/client.hpp"

namespace podsession::controller::kubernetes {

inline constexpr std::string_view json_type = "application/json";
inline constexpr std::string_view merge_patch_type = "application/merge-patch+json";

struct api_request {
    net::http::verb method = net::http::verb::get;
    // Path and query, percent-encoded.
    std::string target;
    // Sent as JSON (or as `content_type`) when set.
    std::optional<boost::json::value> body;
    std::string_view content_type = json_type;
};

[[nodiscard]] inline api_request get_request(std::string target) {
    return {net::http::verb::get, std::move(target), std::nullopt, json_type};
}

// A watch response, read one event at a time.
class watch_stream {
  public:
    explicit watch_stream(net::response_stream stream) : stream_{std::move(stream)} {}

    // Returns the next event, nothing once the server ended the stream, or an
    // error when the stream broke or an event does not decode.
    [[nodiscard]] boost::asio::awaitable<api_result<std::optional<watch_event>>> next();

    void close() { stream_.close(); }

  private:
    net::response_stream stream_;
};

// A client of one Kubernetes API server: JSON requests and watches with
// timeouts, the credentials of a `connection_config`, a client-side rate
// limit, and every failure classified as an `errc`. Runs on one executor and
// must be called from it.
class api_client {
  public:
    struct options {
        // One request, connecting included.
        std::chrono::milliseconds request_timeout{std::chrono::seconds{30}};
        // The maximum watch duration callers request (`timeoutSeconds`). A
        // watch that stays silent longer is treated as broken.
        std::chrono::milliseconds watch_timeout{std::chrono::minutes{10}};
        // How often a token file is read again.
        std::chrono::milliseconds token_refresh{std::chrono::minutes{1}};
        std::string user_agent = "podsession";
        // Requests per second and burst of the client-side rate limit; watches
        // are not limited. 0 turns the limit off.
        double requests_per_second = 50;
        double burst = 100;
    };

    // Throws `config_error` when the config's TLS files cannot be loaded.
    api_client(boost::asio::any_io_executor executor, connection_config config, options settings);

    // Sends a request and returns the parsed JSON body of a 2xx response (null
    // for an empty body).
    [[nodiscard]] boost::asio::awaitable<api_result<boost::json::value>> send(api_request request);

    // Opens a watch (`target` carries `watch=true`); an error status comes back
    // as an error, a 410 as `errc::gone`.
    [[nodiscard]] boost::asio::awaitable<api_result<watch_stream>> watch(std::string target);

    [[nodiscard]] const connection_config& config() const noexcept { return config_; }

    // Fails pending and later calls with `errc::unavailable`.
    void close();

  private:
    [[nodiscard]] net::request make_request(const api_request& request);
    [[nodiscard]] boost::asio::awaitable<void> wait_for_rate_limit();
    [[nodiscard]] std::optional<std::string> authorization();
    void report_auth_failure(const api_error& error, const api_request& request);

    boost::asio::any_io_executor executor_;
    connection_config config_;
    options options_;
    std::unique_ptr<net::client> http_;
    std::unique_ptr<net::client> watch_http_;
    bool plain_http_ = false;

    // The token last read from the token file, and when.
    std::optional<auth::session_token> file_token_;
    std::optional<std::chrono::steady_clock::time_point> token_read_at_;

    double tokens_;
    std::chrono::steady_clock::time_point tokens_at_;
    log::repeat_limiter repeats_{std::chrono::seconds{60}};
};

}  // namespace podsession::controller::kubernetes
