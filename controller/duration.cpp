#include "controller/duration.hpp"

#include <algorithm>
#include <cstdint>
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

std::string format_human_duration(std::chrono::milliseconds duration) {
    const std::int64_t seconds = std::max<std::int64_t>(
        0, std::chrono::duration_cast<std::chrono::seconds>(duration).count());
    // Two whole units, the smaller left out when it is zero.
    const auto two_units = [](std::int64_t large, const char* large_suffix, std::int64_t small,
                              const char* small_suffix) {
        std::string text = std::to_string(large) + large_suffix;
        if (small != 0) {
            text += std::to_string(small) + small_suffix;
        }
        return text;
    };

    const std::int64_t minutes = seconds / 60;
    const std::int64_t hours = minutes / 60;
    const std::int64_t days = hours / 24;
    constexpr std::int64_t days_a_year = 365;

    if (seconds < 2 * 60) {
        return std::to_string(seconds) + "s";
    }
    if (minutes < 10) {
        return two_units(minutes, "m", seconds % 60, "s");
    }
    if (minutes < 3 * 60) {
        return std::to_string(minutes) + "m";
    }
    if (hours < 8) {
        return two_units(hours, "h", minutes % 60, "m");
    }
    if (hours < 48) {
        return std::to_string(hours) + "h";
    }
    if (days < 8) {
        return two_units(days, "d", hours % 24, "h");
    }
    if (days < 2 * days_a_year) {
        return std::to_string(days) + "d";
    }
    if (days < 8 * days_a_year) {
        return two_units(days / days_a_year, "y", days % days_a_year, "d");
    }
    return std::to_string(days / days_a_year) + "y";
}

}  // namespace podsession::controller
