#include "controller/kubernetes/api_error.hpp"

#include <charconv>
#include <stdexcept>

#include <boost/json/parse.hpp>

#include "controller/log.hpp"

namespace podsession::controller::kubernetes {
namespace {

// The maximum length kept of a response body that is not a Status object.
constexpr std::size_t max_body_excerpt = 200;

class category final : public boost::system::error_category {
  public:
    const char* name() const noexcept override { return "podsession.kubernetes"; }

    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::bad_request:
                return "bad request";
            case errc::unauthorized:
                return "unauthorized";
            case errc::forbidden:
                return "forbidden";
            case errc::not_found:
                return "not found";
            case errc::conflict:
                return "conflict";
            case errc::already_exists:
                return "already exists";
            case errc::gone:
                return "resource version too old";
            case errc::invalid:
                return "invalid object";
            case errc::rate_limited:
                return "rate limited";
            case errc::unavailable:
                return "API server unavailable";
            case errc::malformed_response:
                return "malformed response";
            case errc::not_leader:
                return "not the leader";
            case errc::unexpected_status:
                return "unexpected status";
        }
        return "unknown Kubernetes API error";
    }
};

std::optional<std::chrono::seconds> parse_seconds(std::string_view text) {
    long long value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size() || value < 0) {
        return std::nullopt;
    }
    return std::chrono::seconds{value};
}

errc code_for(unsigned status, std::string_view reason) {
    switch (status) {
        case 400:
            return errc::bad_request;
        case 401:
            return errc::unauthorized;
        case 403:
            return errc::forbidden;
        case 404:
            return errc::not_found;
        case 409:
            return reason == "AlreadyExists" ? errc::already_exists : errc::conflict;
        case 410:
            return errc::gone;
        case 422:
            return errc::invalid;
        case 429:
            return errc::rate_limited;
        default:
            break;
    }
    return status >= 500 && status <= 599 ? errc::unavailable : errc::unexpected_status;
}

}  // namespace

const boost::system::error_category& api_category() noexcept {
    static const category instance;
    return instance;
}

std::string api_error::describe() const {
    std::string text;
    if (http_status != 0) {
        text += "status=" + std::to_string(http_status) + " ";
    }
    if (!reason.empty()) {
        text += "reason=" + reason + " ";
    }
    text += "message=" + log::quote(message.empty() ? code.message() : message);
    return text;
}

void throw_exception_from_error(const api_error& error, const boost::source_location&) {
    throw std::runtime_error{"Kubernetes API call failed: " + error.describe()};
}

api_error make_api_error(errc code, std::string message) {
    return {make_error_code(code), std::move(message), 0, {}, std::nullopt};
}

api_error classify_response(unsigned status, std::string_view body,
                            std::string_view retry_after_header) {
    api_error error;
    error.http_status = status;

    boost::system::error_code parse_error;
    const auto parsed = boost::json::parse(body, parse_error);
    if (!parse_error && parsed.is_object() && parsed.get_object().contains("kind") &&
        parsed.get_object().at("kind") == "Status") {
        const auto& object = parsed.get_object();
        if (const auto* message = object.if_contains("message"); message && message->is_string()) {
            error.message = message->get_string();
        }
        if (const auto* reason = object.if_contains("reason"); reason && reason->is_string()) {
            error.reason = reason->get_string();
        }
        if (const auto* details = object.if_contains("details"); details && details->is_object()) {
            if (const auto* seconds = details->get_object().if_contains("retryAfterSeconds");
                seconds && seconds->is_int64() && seconds->get_int64() >= 0) {
                error.retry_after = std::chrono::seconds{seconds->get_int64()};
            }
        }
    } else {
        error.message = std::string{body.substr(0, max_body_excerpt)};
    }
    if (!retry_after_header.empty()) {
        if (const auto seconds = parse_seconds(retry_after_header)) {
            error.retry_after = seconds;
        }
    }
    error.code = make_error_code(code_for(status, error.reason));
    return error;
}

api_error transport_error(const boost::system::error_code& error) {
    return make_api_error(errc::unavailable, error.message());
}

}  // namespace podsession::controller::kubernetes
