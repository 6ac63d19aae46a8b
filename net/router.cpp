#include <charconv>
#include <optional>
#include <string>
#include <string_view>

#include "net/server.hpp"

namespace podsession::net {

namespace {

std::vector<std::string> split_path(std::string_view path) {
    std::vector<std::string> segments;
    while (!path.empty()) {
        if (path.front() == '/') {
            path.remove_prefix(1);
            continue;
        }
        const auto end = path.find('/');
        segments.emplace_back(path.substr(0, end));
        path = end == std::string_view::npos ? std::string_view{} : path.substr(end);
    }
    return segments;
}

// Decodes `%XX` escapes; returns nothing for a malformed escape.
std::optional<std::string> percent_decode(std::string_view text) {
    std::string decoded;
    decoded.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            decoded += text[i];
            continue;
        }
        unsigned value = 0;
        if (i + 2 >= text.size()) {
            return std::nullopt;
        }
        const char* begin = text.data() + i + 1;
        const auto [end, error] = std::from_chars(begin, begin + 2, value, 16);
        if (error != std::errc{} || end != begin + 2) {
            return std::nullopt;
        }
        decoded += static_cast<char>(value);
        i += 2;
    }
    return decoded;
}

bool is_parameter(std::string_view segment) {
    return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

std::string_view server_request::parameter(std::string_view name) const {
    for (const auto& [key, value] : path_parameters) {
        if (key == name) {
            return value;
        }
    }
    return {};
}

response make_response(unsigned status, std::string body, std::string_view content_type) {
    response message;
    message.status = status;
    message.headers.set(http::field::content_type, content_type);
    message.body = std::move(body);
    return message;
}

void router::add(http::verb method, std::string_view pattern, handler handler) {
    routes_.push_back(route{method, split_path(pattern), std::move(handler)});
}

void router::set_error_responder(error_responder responder) {
    error_responder_ = std::move(responder);
}

boost::asio::awaitable<reply> router::dispatch(server_request& request) const {
    const auto segments = split_path(request.path);
    std::string allowed;

    for (const auto& candidate : routes_) {
        if (candidate.segments.size() != segments.size()) {
            continue;
        }
        std::vector<std::pair<std::string, std::string>> parameters;
        bool matches = true;
        for (std::size_t i = 0; i < segments.size() && matches; ++i) {
            const auto& expected = candidate.segments[i];
            if (!is_parameter(expected)) {
                matches = expected == segments[i];
                continue;
            }
            auto value = percent_decode(segments[i]);
            matches = value.has_value();
            if (matches) {
                parameters.emplace_back(expected.substr(1, expected.size() - 2), std::move(*value));
            }
        }
        if (!matches) {
            continue;
        }
        if (candidate.method != request.message.method) {
            allowed +=
                (allowed.empty() ? "" : ", ") + std::string{http::to_string(candidate.method)};
            continue;
        }
        request.path_parameters = std::move(parameters);
        co_return co_await candidate.run(request);
    }

    const unsigned status = allowed.empty() ? 404 : 405;
    response message =
        error_responder_
            ? error_responder_(status, request)
            : make_response(status, status == 404 ? "not found\n" : "method not allowed\n");
    message.status = status;
    if (!allowed.empty()) {
        message.headers.set(http::field::allow, allowed);
    }
    co_return reply{std::move(message)};
}

}  // namespace podsession::net

namespace podsession::net {

boost::system::result<boost::asio::ip::tcp::endpoint> parse_listen_endpoint(std::string_view text) {
    const auto invalid = std::make_error_code(std::errc::invalid_argument);
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        return boost::system::error_code{invalid};
    }
    std::string_view host = text.substr(0, colon);
    const std::string_view port_text = text.substr(colon + 1);
    unsigned port = 0;
    const auto [end, error] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (error != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) {
        return boost::system::error_code{invalid};
    }
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    if (host.empty()) {
        host = "0.0.0.0";
    }
    boost::system::error_code parse_error;
    const auto address = boost::asio::ip::make_address(host, parse_error);
    if (parse_error) {
        return parse_error;
    }
    return boost::asio::ip::tcp::endpoint{address, static_cast<std::uint16_t>(port)};
}

std::string format_endpoint(const boost::asio::ip::tcp::endpoint& endpoint) {
    const auto address = endpoint.address();
    // Appended piece by piece: `"[" + ...` draws a false -Wrestrict from GCC 12 at -O3.
    std::string text;
    if (address.is_v6()) {
        text += '[';
        text += address.to_string();
        text += ']';
    } else {
        text += address.to_string();
    }
    text += ':';
    text += std::to_string(endpoint.port());
    return text;
}

}  // namespace podsession::net
