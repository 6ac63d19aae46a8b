#include "providers/runpod/rate_limit.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

namespace podsession::providers::runpod {

namespace {

std::string_view trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = text.find_last_not_of(" \t");
    return text.substr(first, last - first + 1);
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size() || value < 0) {
        return std::nullopt;
    }
    return value;
}

rate_limit_window& window_named(rate_limit& limits, std::string_view name) {
    for (auto& window : limits.windows) {
        if (window.name == name) {
            return window;
        }
    }
    rate_limit_window added;
    added.name = name;
    return limits.windows.emplace_back(std::move(added));
}

// Calls `apply(window, key, value)` for each integer parameter of each member.
template <class Apply>
void for_each_parameter(rate_limit& limits, std::string_view header, Apply apply) {
    while (!header.empty()) {
        const auto comma = header.find(',');
        const std::string_view member = trim(header.substr(0, comma));
        header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);

        const auto semicolon = member.find(';');
        std::string_view name = trim(member.substr(0, semicolon));
        if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
            name = name.substr(1, name.size() - 2);
        }
        if (name.empty() || semicolon == std::string_view::npos) {
            continue;
        }

        auto& window = window_named(limits, name);
        std::string_view parameters = member.substr(semicolon + 1);
        while (!parameters.empty()) {
            const auto next = parameters.find(';');
            const std::string_view parameter = trim(parameters.substr(0, next));
            parameters =
                next == std::string_view::npos ? std::string_view{} : parameters.substr(next + 1);
            const auto equals = parameter.find('=');
            if (equals == std::string_view::npos) {
                continue;
            }
            if (const auto value = parse_integer(trim(parameter.substr(equals + 1)))) {
                apply(window, trim(parameter.substr(0, equals)), *value);
            }
        }
    }
}

}  // namespace

const rate_limit_window* rate_limit::find(std::string_view name) const noexcept {
    const auto found = std::find_if(windows.begin(), windows.end(),
                                    [&](const auto& window) { return window.name == name; });
    return found == windows.end() ? nullptr : &*found;
}

std::optional<std::chrono::seconds> rate_limit::exhausted_for() const noexcept {
    std::optional<std::chrono::seconds> longest;
    for (const auto& window : windows) {
        if (window.remaining == 0 && window.reset && (!longest || *window.reset > *longest)) {
            longest = window.reset;
        }
    }
    return longest;
}

rate_limit parse_rate_limit(std::string_view rate_limit_header, std::string_view policy_header) {
    rate_limit limits;
    for_each_parameter(limits, rate_limit_header,
                       [](rate_limit_window& window, std::string_view key, std::int64_t value) {
                           if (key == "r") {
                               window.remaining = value;
                           } else if (key == "t") {
                               window.reset = std::chrono::seconds{value};
                           }
                       });
    for_each_parameter(limits, policy_header,
                       [](rate_limit_window& window, std::string_view key, std::int64_t value) {
                           if (key == "q") {
                               window.quota = value;
                           } else if (key == "w") {
                               window.length = std::chrono::seconds{value};
                           }
                       });
    return limits;
}

}  // namespace podsession::providers::runpod
