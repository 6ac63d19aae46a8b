#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/system/error_code.hpp>

#include "net/message.hpp"
#include "providers/error.hpp"

namespace podsession::providers::runpod {

// The pod API's operations, named as RunPod's specification names them.
enum class api_operation { create_pod, list_pods, get_pod, delete_pod };

[[nodiscard]] std::string_view to_string(api_operation value);

// Strings that must never appear in an error message: the API key and the env
// values of the request at hand.
class redactor {
  public:
    redactor() = default;
    explicit redactor(std::vector<std::string> secrets);

    // Replaces every secret in `text` with `[redacted]`. A secret shorter than
    // four characters is replaced only where it is a whole word, so that a
    // value such as `1` does not shred every number in a message.
    [[nodiscard]] std::string apply(std::string text) const;

  private:
    std::vector<std::string> secrets_;
};

// Classifies an HTTP error status of `operation` as RunPod documents it: 400
// on create is a capacity error, 5xx is transient except on create, where the
// pod may exist (`unknown_outcome`), 429 carries `Retry-After`.
[[nodiscard]] provider_error classify_response(api_operation operation,
                                               const net::response& response,
                                               const redactor& redactor);

// Classifies a transport failure of `operation`. A create that may have
// reached RunPod is `unknown_outcome`; one that never left (the connection
// was refused, the TLS handshake failed) is `transient`.
[[nodiscard]] provider_error classify_transport(api_operation operation,
                                                const boost::system::error_code& error);

// A successful status whose body does not decode.
[[nodiscard]] provider_error malformed_response(api_operation operation, unsigned status,
                                                std::string_view reason);

}  // namespace podsession::providers::runpod
