#include "crd/validate.hpp"

#include <algorithm>

namespace podsession::crd {
namespace {

bool is_lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f');
}

}  // namespace

bool is_dns1123_label(std::string_view text) {
    if (text.empty() || text.size() > 63 || !is_lower_alnum(text.front()) ||
        !is_lower_alnum(text.back())) {
        return false;
    }
    return std::ranges::all_of(text, [](char c) { return is_lower_alnum(c) || c == '-'; });
}

bool is_dns1123_subdomain(std::string_view text) {
    if (text.empty() || text.size() > 253) {
        return false;
    }
    std::size_t start = 0;
    while (true) {
        const auto dot = text.find('.', start);
        const auto label = text.substr(start, dot == std::string_view::npos ? dot : dot - start);
        if (!is_dns1123_label(label)) {
            return false;
        }
        if (dot == std::string_view::npos) {
            return true;
        }
        start = dot + 1;
    }
}

bool is_env_var_name(std::string_view text) {
    if (text.empty() || !(is_alpha(text.front()) || text.front() == '_')) {
        return false;
    }
    return std::ranges::all_of(text, [](char c) { return is_alpha(c) || is_digit(c) || c == '_'; });
}

bool is_reserved_env_name(std::string_view text) {
    return text.starts_with("ATLAS_") || text.starts_with("PODSESSION_");
}

bool is_cuda_version(std::string_view text) {
    const auto dot = text.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == text.size()) {
        return false;
    }
    const auto all_digits = [](std::string_view part) {
        return std::ranges::all_of(part, is_digit);
    };
    return all_digits(text.substr(0, dot)) && all_digits(text.substr(dot + 1));
}

bool is_data_center_id(std::string_view text) {
    if (text.empty() || text.size() > 32) {
        return false;
    }
    return std::ranges::all_of(text, [](char c) { return is_alpha(c) || is_digit(c) || c == '-'; });
}

bool is_session_uid(std::string_view text) {
    if (text.size() > 128 ||
        !std::ranges::all_of(text, [](char c) { return is_hex(c) || c == '-'; })) {
        return false;
    }
    return std::ranges::count_if(text, is_hex) >= 8;
}

bool is_controller_id(std::string_view text) {
    return !text.empty() && text.size() <= 16 && std::ranges::all_of(text, is_lower_alnum);
}

std::string escape_controls(std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string escaped;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            escaped += "\\x";
            escaped += hex[byte >> 4];
            escaped += hex[byte & 0xf];
        } else {
            escaped += c;
        }
    }
    return escaped;
}

}  // namespace podsession::crd
