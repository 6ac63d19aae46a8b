#include "controller/log.hpp"

#include <algorithm>
#include <stdexcept>

#include <spdlog/sinks/stdout_sinks.h>

namespace podsession::controller::log {

namespace {

bool is_control(char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
}

// Appends `c`, a control character, as an escape that shows on one line and
// does nothing to a terminal.
void append_control_escape(std::string& out, char c) {
    switch (c) {
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default: {
            static constexpr char hex[] = "0123456789abcdef";
            const auto byte = static_cast<unsigned char>(c);
            out += "\\x";
            out += hex[byte >> 4];
            out += hex[byte & 0xf];
        }
    }
}

}  // namespace

std::optional<spdlog::level::level_enum> parse_level(std::string_view level) {
    // from_str returns `off` for any name it does not know.
    const auto parsed = spdlog::level::from_str(std::string{level});
    if (parsed == spdlog::level::off && level != "off") {
        return std::nullopt;
    }
    return parsed;
}

void setup(std::string_view level) {
    const auto found = parse_level(level);
    if (!found) {
        throw std::invalid_argument("invalid log level \"" + std::string{level} +
                                    "\"; use trace, debug, info, warn or error");
    }
    const auto parsed = *found;
    auto logger = spdlog::stderr_logger_mt("podsession");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %-5l %v", spdlog::pattern_time_type::utc);
    logger->set_level(parsed);
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(std::move(logger));
}

std::string quote(std::string_view value) {
    const bool plain = !value.empty() &&
                       value.find_first_of(" \"=\\") == std::string_view::npos &&
                       std::ranges::none_of(value, is_control);
    if (plain) {
        return std::string{value};
    }
    std::string quoted = "\"";
    for (const char c : value) {
        switch (c) {
            case '"':
                quoted += "\\\"";
                break;
            case '\\':
                quoted += "\\\\";
                break;
            default:
                if (is_control(c)) {
                    // ESC and other control bytes would act on the terminal
                    // that shows the log.
                    append_control_escape(quoted, c);
                } else {
                    quoted += c;
                }
        }
    }
    quoted += '"';
    return quoted;
}

std::string escape_controls(std::string_view text) {
    std::string escaped;
    escaped.reserve(text.size());
    for (const char c : text) {
        if (is_control(c)) {
            append_control_escape(escaped, c);
        } else {
            escaped += c;
        }
    }
    return escaped;
}

long repeat_limiter::admit(const std::string& key, std::chrono::steady_clock::time_point now) {
    auto [found, inserted] = entries_.try_emplace(key, entry{now, 0});
    if (inserted) {
        return 0;
    }
    if (now - found->second.last_logged < interval_) {
        ++found->second.held_back;
        return -1;
    }
    const long held_back = found->second.held_back;
    found->second = entry{now, 0};
    return held_back;
}

}  // namespace podsession::controller::log
