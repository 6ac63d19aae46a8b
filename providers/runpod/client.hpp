#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "net/client.hpp"
#include "providers/provider.hpp"
#include "providers/runpod/api_key.hpp"
#include "providers/runpod/errors.hpp"
#include "providers/runpod/rate_limit.hpp"
#include "providers/runpod/rate_limiter.hpp"
#include "providers/runpod/retry_policy.hpp"

namespace podsession::providers::runpod {

// RunPod's production API. Tests never use it: they pass a loopback URL.
inline constexpr std::string_view default_base_url = "https://api.runpod.io";

// The client's view of time and chance, replaced in tests so that waits for
// the rate limit and retries take no real time.
struct client_timing {
    std::function<rate_limiter::clock::time_point()> now = [] {
        return rate_limiter::clock::now();
    };
    // Waits `delay` on the caller's executor. Empty: a steady timer.
    std::function<boost::asio::awaitable<void>(std::chrono::milliseconds delay)> sleep;
    // Seeds the retry jitter; 0 draws a seed from std::random_device.
    std::uint64_t jitter_seed = 0;
};

struct client_options {
    std::string base_url{default_base_url};
    // Sent as `Authorization: Bearer <key>`; never logged or put in a message.
    std::string api_key;
    // When set, the key is read from this file instead, and read again
    // whenever the file changes. `api_key` is then ignored.
    std::optional<std::filesystem::path> api_key_file;
    // Timeouts, limits and TLS settings (a CA file in `http.tls.ca_file`).
    net::client_options http;
    // The body limit of the pod list, which grows with the fleet. The
    // simulator's list takes 827 bytes a pod (8,270,010 bytes for 10,000 in
    // bench/directory_bench.py), so 256 MiB has room for some 320,000 such
    // pods. Every other response keeps `http.body_limit`.
    std::size_t list_body_limit = 256 * 1024 * 1024;
    // For list, get and DELETE. Creates are never sent twice.
    retry_policy retries;
    // The maximum time a request waits for the rate limit (an exhausted
    // window, a `Retry-After`). A longer wait fails with `errc::rate_limited`
    // without sending, so that a shutdown never waits out an hour-long window.
    std::chrono::milliseconds max_rate_limit_wait{std::chrono::seconds{30}};
    client_timing timing;
};

// The REST v2 pod API as a `provider`, with a client-side rate limit shared by
// all its requests and retries of reads and DELETEs.
class client final : public provider {
  public:
    // Throws `std::invalid_argument` for an empty key or an invalid base URL,
    // and `std::runtime_error` when the key file or a TLS file cannot be read.
    client(boost::asio::any_io_executor executor, client_options options);

    [[nodiscard]] boost::asio::awaitable<result<crd::observed_pod>> create_pod(
        const create_pod_request& request) override;
    [[nodiscard]] boost::asio::awaitable<result<std::vector<crd::observed_pod>>> list_pods()
        override;
    [[nodiscard]] boost::asio::awaitable<result<crd::observed_pod>> get_pod(
        std::string_view pod_id) override;
    [[nodiscard]] boost::asio::awaitable<result<void>> terminate_pod(
        std::string_view pod_id) override;
    [[nodiscard]] bool lists_env() const noexcept override { return true; }

    // The quota state of the last response that carried rate limit headers.
    [[nodiscard]] const rate_limit& last_rate_limit() const noexcept { return last_rate_limit_; }
    [[nodiscard]] const rate_limiter& limiter() const noexcept { return *limiter_; }

  private:
    // Waits until the rate limiter reserves a slot, or returns the error of a
    // wait longer than `max_rate_limit_wait`.
    [[nodiscard]] boost::asio::awaitable<std::optional<provider_error>> wait_for_rate_limit(
        api_operation operation);
    // Waits for the rate limit and sends `request` once.
    [[nodiscard]] boost::asio::awaitable<result<net::response>> send_once(
        api_operation operation, net::request request, std::vector<std::string> secrets);
    // Sends `request`, again after a transient failure or a 429 when
    // `operation` may be repeated.
    [[nodiscard]] boost::asio::awaitable<result<net::response>> call(
        api_operation operation, net::request request, std::vector<std::string> secrets = {});
    [[nodiscard]] boost::asio::awaitable<void> sleep(std::chrono::milliseconds delay);

    net::client http_;
    api_key_source api_key_;
    retry_policy retries_;
    std::chrono::milliseconds max_rate_limit_wait_;
    std::size_t list_body_limit_;
    client_timing timing_;
    std::mt19937_64 jitter_;
    std::shared_ptr<rate_limiter> limiter_;
    rate_limit last_rate_limit_;
    std::optional<std::chrono::steady_clock::time_point> last_wait_log_;
};

// Makes the RunPod provider for the controller. Throws like `client`'s
// constructor.
[[nodiscard]] std::unique_ptr<provider> make_provider(boost::asio::any_io_executor executor,
                                                      client_options options);

}  // namespace podsession::providers::runpod
