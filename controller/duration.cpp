#include "controller/duration.hpp"

#include <limits>

namespace podsession::controller {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    if (text.empty()) {
        return std::nullopt;
    }
    constexpr std::int64_t limit = std::numeric_limits<std::int64_t>::max() / 2;
    std::int64_t total = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::int64_t number = 0;
        const std::size_t digits_start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            if (number > limit / 10) {
                return std::nullopt;
            }
            number = number * 10 + (text[pos] - '0');
            ++pos;
        }
        if (pos == digits_start) {
            return std::nullopt;
        }

        std::int64_t unit = 0;
        if (text.substr(pos).starts_with("ms")) {
            unit = 1;
            pos += 2;
        } else if (pos < text.size() && text[pos] == 's') {
            unit = 1000;
            ++pos;
        } else if (pos < text.size() && text[pos] == 'm') {
            unit = 60 * 1000;
            ++pos;
        } else if (pos < text.size() && text[pos] == 'h') {
            unit = 60 * 60 * 1000;
            ++pos;
        } else {
            return std::nullopt;
        }
        if (number > (limit - total) / unit) {
            return std::nullopt;
        }
        total += number * unit;
    }
    return std::chrono::milliseconds{total};
}

std::string format_duration(std::chrono::milliseconds duration) {
    std::int64_t remaining = duration.count();
    if (remaining == 0) {
        return "0s";
    }
    std::string text;
    const auto take = [&](std::int64_t unit, const char* suffix) {
        if (remaining >= unit) {
            text += std::to_string(remaining / unit) + suffix;
            remaining %= unit;
        }
    };
    take(60 * 60 * 1000, "h");
    take(60 * 1000, "m");
    take(1000, "s");
    take(1, "ms");
    return text;
}

}  // namespace podsession::controller
