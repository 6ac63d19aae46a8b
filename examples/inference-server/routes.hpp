#pragma once

#include <chrono>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "auth/verifier.hpp"

namespace example {

using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;

// A response and how the request fared against the pod's credentials, for the
// access log: "open", "ok", or the rejection reason.
struct routed_response {
    response message;
    std::string_view auth;
};

// Builds the response to one request. It does no I/O.
//   GET  /healthz        always open
//   POST /v1/generate    needs the bearer token when ATLAS_PRESHARED_KEY is set
//   GET  /media/<name>   needs a signed URL when ATLAS_SIGNING_SECRET is set
[[nodiscard]] routed_response handle_request(const request& message,
                                             const podsession::auth::pod_verifier& verifier,
                                             std::chrono::sys_seconds now);

// A JSON error response with `{"error": error}` and, when not empty, `"reason"`.
[[nodiscard]] response error_response(boost::beast::http::status status, unsigned version,
                                      std::string_view error, std::string_view reason = {});

}  // namespace example
