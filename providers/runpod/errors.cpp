#include "providers/runpod/errors.hpp"

#include <cctype>
#include <charconv>
#include <optional>

#include "net/error.hpp"
#include "providers/runpod/codec.hpp"
#include "providers/runpod/rate_limit.hpp"

namespace podsession::providers::runpod {

namespace {

constexpr std::string_view redacted = "[redacted]";
constexpr std::size_t min_substring_secret = 4;

bool is_word_character(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

errc errc_for_status(api_operation operation, unsigned status) {
    switch (status) {
        case 400:
            return operation == api_operation::create_pod ? errc::capacity : errc::invalid_request;
        case 401:
            return errc::unauthorized;
        case 402:
            return errc::payment_required;
        case 403:
            return errc::forbidden;
        case 404:
            // On create, a 404 names a template or volume that does not exist.
            return operation == api_operation::create_pod ? errc::invalid_request : errc::not_found;
        case 409:
            return errc::conflict;
        case 429:
            return errc::rate_limited;
        case 408:
            return operation == api_operation::create_pod ? errc::unknown_outcome : errc::transient;
        default:
            break;
    }
    if (status >= 500) {
        return operation == api_operation::create_pod ? errc::unknown_outcome : errc::transient;
    }
    return errc::invalid_request;
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view text) {
    unsigned long seconds = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (error != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return std::chrono::seconds{seconds};
}

std::string header_value(const net::response& response, std::string_view name) {
    const auto found = response.headers.find(name);
    return found == response.headers.end() ? std::string{} : std::string{found->value()};
}

}  // namespace

std::string_view to_string(api_operation value) {
    switch (value) {
        case api_operation::create_pod:
            return "createPod";
        case api_operation::list_pods:
            return "listPods";
        case api_operation::get_pod:
            return "getPod";
        case api_operation::delete_pod:
            return "deletePod";
    }
    return "unknown";
}

redactor::redactor(std::vector<std::string> secrets) : secrets_{std::move(secrets)} {
    std::erase_if(secrets_, [](const std::string& secret) { return secret.empty(); });
}

std::string redactor::apply(std::string text) const {
    for (const auto& secret : secrets_) {
        std::size_t from = 0;
        while ((from = text.find(secret, from)) != std::string::npos) {
            const std::size_t end = from + secret.size();
            const bool whole_word = (from == 0 || !is_word_character(text[from - 1])) &&
                                    (end == text.size() || !is_word_character(text[end]));
            if (secret.size() < min_substring_secret && !whole_word) {
                from = end;
                continue;
            }
            text.replace(from, secret.size(), redacted);
            from += redacted.size();
        }
    }
    return text;
}

provider_error classify_response(api_operation operation, const net::response& response,
                                 const redactor& redactor) {
    provider_error error;
    error.code = make_error_code(errc_for_status(operation, response.status));
    error.http_status = static_cast<int>(response.status);

    std::string message = "RunPod " + std::string{to_string(operation)} + " returned HTTP " +
                          std::to_string(response.status);
    if (const auto problem = decode_problem(response.body)) {
        if (!problem->detail.empty()) {
            message += ": " + problem->detail;
        } else if (!problem->title.empty()) {
            message += ": " + problem->title;
        }
        for (const auto& detail : problem->errors) {
            error.details.push_back(redactor.apply(detail));
        }
    }
    error.message = redactor.apply(std::move(message));

    if (response.status == 429) {
        error.retry_after = parse_retry_after(header_value(response, "Retry-After"));
        if (!error.retry_after) {
            const auto limits = parse_rate_limit(header_value(response, "RateLimit"),
                                                 header_value(response, "RateLimit-Policy"));
            if (const auto wait = limits.exhausted_for()) {
                error.retry_after = *wait;
            }
        }
    }
    return error;
}

provider_error classify_transport(api_operation operation, const boost::system::error_code& error) {
    // NOTE: a timeout while connecting also counts as a possible create,
    // because the HTTP layer reports connect and read timeouts alike.
    const auto cause = net::classify(error);
    const bool never_sent = cause == net::errc::connect_failed || cause == net::errc::tls_failure ||
                            cause == net::errc::untrusted_certificate ||
                            cause == net::errc::invalid_url;
    const bool may_have_created = operation == api_operation::create_pod && !never_sent;

    provider_error classified;
    classified.code = make_error_code(may_have_created ? errc::unknown_outcome : errc::transient);
    classified.message =
        "RunPod " + std::string{to_string(operation)} + " failed: " + cause.message();
    if (cause == net::errc::untrusted_certificate) {
        classified.message +=
            " (no trusted CA signed it, it expired, or it does not cover the host name); check "
            "the CA file given with --runpod-ca-file and the base URL";
    }
    return classified;
}

provider_error malformed_response(api_operation operation, unsigned status,
                                  std::string_view reason) {
    provider_error error;
    error.code = make_error_code(operation == api_operation::create_pod ? errc::unknown_outcome
                                                                        : errc::transient);
    error.http_status = static_cast<int>(status);
    error.message = "RunPod " + std::string{to_string(operation)} + " returned HTTP " +
                    std::to_string(status) + " with an unreadable body: " + std::string{reason};
    return error;
}

}  // namespace podsession::providers::runpod
