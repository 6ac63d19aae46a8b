#include "crd/time.hpp"

#include <cstdio>

namespace podsession::crd {
namespace {

// Reads exactly `width` decimal digits at `pos`, advancing it.
std::optional<int> read_digits(std::string_view text, std::size_t& pos, std::size_t width) {
    if (pos + width > text.size()) {
        return std::nullopt;
    }
    int value = 0;
    for (std::size_t i = 0; i < width; ++i) {
        const char c = text[pos + i];
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        value = value * 10 + (c - '0');
    }
    pos += width;
    return value;
}

bool expect(std::string_view text, std::size_t& pos, std::string_view accepted) {
    if (pos < text.size() && accepted.find(text[pos]) != std::string_view::npos) {
        ++pos;
        return true;
    }
    return false;
}

}  // namespace

std::optional<timestamp> parse_rfc3339(std::string_view text) {
    using namespace std::chrono;

    std::size_t pos = 0;
    const auto year = read_digits(text, pos, 4);
    if (!year || !expect(text, pos, "-")) {
        return std::nullopt;
    }
    const auto month = read_digits(text, pos, 2);
    if (!month || !expect(text, pos, "-")) {
        return std::nullopt;
    }
    const auto day = read_digits(text, pos, 2);
    if (!day || !expect(text, pos, "Tt ")) {
        return std::nullopt;
    }
    const auto hour = read_digits(text, pos, 2);
    if (!hour || !expect(text, pos, ":")) {
        return std::nullopt;
    }
    const auto minute = read_digits(text, pos, 2);
    if (!minute || !expect(text, pos, ":")) {
        return std::nullopt;
    }
    const auto second = read_digits(text, pos, 2);
    if (!second) {
        return std::nullopt;
    }

    int millis = 0;
    if (expect(text, pos, ".")) {
        std::size_t digits = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            if (digits < 3) {
                millis = millis * 10 + (text[pos] - '0');
            }
            ++digits;
            ++pos;
        }
        if (digits == 0) {
            return std::nullopt;
        }
        for (std::size_t i = digits; i < 3; ++i) {
            millis *= 10;
        }
    }

    minutes offset{0};
    if (!expect(text, pos, "Zz")) {
        const bool negative = pos < text.size() && text[pos] == '-';
        if (!expect(text, pos, "+-")) {
            return std::nullopt;
        }
        const auto offset_hours = read_digits(text, pos, 2);
        if (!offset_hours || !expect(text, pos, ":")) {
            return std::nullopt;
        }
        const auto offset_minutes = read_digits(text, pos, 2);
        if (!offset_minutes || *offset_hours > 23 || *offset_minutes > 59) {
            return std::nullopt;
        }
        offset = hours{*offset_hours} + minutes{*offset_minutes};
        if (negative) {
            offset = -offset;
        }
    }
    if (pos != text.size()) {
        return std::nullopt;
    }

    const year_month_day date{std::chrono::year{*year}, std::chrono::month{static_cast<unsigned>(*month)},
                              std::chrono::day{static_cast<unsigned>(*day)}};
    // RFC 3339 allows a leap second (60); it is read as the last second of the minute.
    if (!date.ok() || *hour > 23 || *minute > 59 || *second > 60) {
        return std::nullopt;
    }
    const auto local = sys_days{date} + hours{*hour} + minutes{*minute} +
                       seconds{std::min(*second, 59)} + milliseconds{millis};
    return timestamp{local - offset};
}

std::string format_rfc3339(timestamp time) {
    using namespace std::chrono;

    const auto day_start = floor<days>(time);
    const year_month_day date{day_start};
    const hh_mm_ss clock{floor<seconds>(time - day_start)};
    char buffer[48];
    std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02ld:%02ld:%02lldZ", int{date.year()},
                  unsigned{date.month()}, unsigned{date.day()}, static_cast<long>(clock.hours().count()),
                  static_cast<long>(clock.minutes().count()),
                  static_cast<long long>(clock.seconds().count()));
    return buffer;
}

}  // namespace podsession::crd
