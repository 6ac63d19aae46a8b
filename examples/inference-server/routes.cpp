#include "examples/inference-server/routes.hpp"

#include <string>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json.hpp>

namespace example {

namespace {

namespace http = boost::beast::http;
namespace auth = podsession::auth;

constexpr std::string_view media_prefix = "/media/";

[[nodiscard]] response json_response(http::status status, unsigned version,
                                     const boost::json::value& body) {
    response message{status, version};
    message.set(http::field::content_type, "application/json");
    message.body() = boost::json::serialize(body);
    return message;
}

[[nodiscard]] routed_response method_not_allowed(const request& message, std::string_view allow) {
    auto reply =
        error_response(http::status::method_not_allowed, message.version(), "method_not_allowed");
    reply.set(http::field::allow, allow);
    return {std::move(reply), "open"};
}

[[nodiscard]] routed_response generate(const request& message, const auth::pod_verifier& verifier) {
    // An absent header reads as empty, which the verifier reports as missing.
    // Two headers are ambiguous: a proxy and the pod could each read another one.
    const std::string_view authorization = message[http::field::authorization];
    const auto status = message.count(http::field::authorization) > 1
                            ? auth::bearer_status::malformed
                            : verifier.check_bearer(authorization);
    if (status != auth::bearer_status::ok) {
        auto reply = error_response(http::status::unauthorized, message.version(), "unauthorized",
                                    auth::to_string(status));
        // RFC 6750 section 3: no error code when the request had no credentials.
        reply.set(http::field::www_authenticate,
                  status == auth::bearer_status::missing
                      ? "Bearer realm=\"inference\""
                      : "Bearer realm=\"inference\", error=\"invalid_token\"");
        return {std::move(reply), auth::to_string(status)};
    }

    const std::string_view outcome = verifier.requires_bearer() ? "ok" : "open";

    boost::system::error_code error;
    auto input = boost::json::parse(message.body(), error);
    if (error) {
        return {error_response(http::status::bad_request, message.version(), "invalid_json",
                               error.message()),
                outcome};
    }
    boost::json::object body;
    body["model"] = "example";
    body["echo"] = std::move(input);
    return {json_response(http::status::ok, message.version(), body), outcome};
}

[[nodiscard]] routed_response media(const request& message, const auth::pod_verifier& verifier,
                                    std::string_view path, std::chrono::sys_seconds now) {
    const auto status = verifier.check_signed_target(message.target(), now);
    if (status != auth::signed_url_status::ok) {
        return {error_response(http::status::unauthorized, message.version(), "unauthorized",
                               auth::to_string(status)),
                auth::to_string(status)};
    }

    response reply{http::status::ok, message.version()};
    reply.set(http::field::content_type, "text/plain; charset=utf-8");
    reply.set(http::field::cache_control, "private, no-store");
    reply.body() = "example media for " + std::string{path} + "\n";
    return {std::move(reply), verifier.requires_signed_url() ? "ok" : "open"};
}

}  // namespace

response error_response(http::status status, unsigned version, std::string_view error,
                        std::string_view reason) {
    boost::json::object body;
    body["error"] = error;
    if (!reason.empty()) {
        body["reason"] = reason;
    }
    return json_response(status, version, body);
}

routed_response handle_request(const request& message, const auth::pod_verifier& verifier,
                               std::chrono::sys_seconds now) {
    const std::string_view target = message.target();
    const auto path = target.substr(0, target.find('?'));

    if (path == "/healthz") {
        if (message.method() != http::verb::get) {
            return method_not_allowed(message, "GET");
        }
        return {json_response(http::status::ok, message.version(), {{"status", "ok"}}), "open"};
    }
    if (path == "/v1/generate") {
        if (message.method() != http::verb::post) {
            return method_not_allowed(message, "POST");
        }
        return generate(message, verifier);
    }
    if (path.starts_with(media_prefix)) {
        if (message.method() != http::verb::get) {
            return method_not_allowed(message, "GET");
        }
        return media(message, verifier, path, now);
    }
    return {error_response(http::status::not_found, message.version(), "not_found"), "open"};
}

}  // namespace example
