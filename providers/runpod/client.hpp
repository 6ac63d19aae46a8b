#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "net/client.hpp"
#include "providers/provider.hpp"
#include "providers/runpod/errors.hpp"
#include "providers/runpod/rate_limit.hpp"

namespace podsession::providers::runpod {

// RunPod's production API. Tests never use it: they pass a loopback URL.
inline constexpr std::string_view default_base_url = "https://api.runpod.io";

struct client_options {
    std::string base_url{default_base_url};
    // Sent as `Authorization: Bearer <key>`; never logged or put in a message.
    std::string api_key;
    // Timeouts, limits and TLS settings (a CA file in `http.tls.ca_file`).
    net::client_options http;
};

// The REST v2 pod API as a `provider`.
class client final : public provider {
  public:
    // Throws `std::invalid_argument` for an empty key or an invalid base URL,
    // and `std::runtime_error` when a TLS file cannot be loaded.
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

  private:
    [[nodiscard]] boost::asio::awaitable<result<net::response>> call(api_operation operation,
                                                                     net::request request,
                                                                     const redactor& redactor);

    net::client http_;
    std::string api_key_;
    rate_limit last_rate_limit_;
};

// Makes the RunPod provider for the controller. Throws like `client`'s
// constructor.
[[nodiscard]] std::unique_ptr<provider> make_provider(boost::asio::any_io_executor executor,
                                                      client_options options);

}  // namespace podsession::providers::runpod
