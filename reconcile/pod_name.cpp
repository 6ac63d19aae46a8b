#include "reconcile/pod_name.hpp"

#include <algorithm>
#include <cctype>

namespace podsession::reconcile {
namespace {

constexpr std::string_view cut_marker = "--";

std::string uid_prefix(std::string_view uid) {
    std::string hex;
    for (const char c : uid) {
        if (std::isxdigit(static_cast<unsigned char>(c))) {
            hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
            if (hex.size() == 8) {
                break;
            }
        }
    }
    return hex;
}

}  // namespace

std::string pod_name_prefix(std::string_view controller_id) {
    std::string prefix = "psn-";
    prefix += controller_id;
    prefix += '-';
    return prefix;
}

std::string make_pod_name(std::string_view controller_id, std::string_view namespace_name,
                          std::string_view name, std::string_view uid) {
    const std::string prefix = pod_name_prefix(controller_id);
    // Appended rather than `"-" + ...`, which GCC 12 flags with a false
    // -Wrestrict at -O3.
    std::string suffix = "-";
    suffix += uid_prefix(uid);

    std::string middle;
    middle.append(namespace_name).append("-").append(name);
    std::ranges::transform(middle, middle.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });

    const std::size_t room = max_pod_name_length - prefix.size() - suffix.size();
    if (middle.size() > room) {
        // Keep both ends: the namespace at the front and the distinctive end of
        // long generated names at the back.
        const std::size_t keep = room - cut_marker.size();
        const std::size_t head = keep / 2;
        const std::size_t tail = keep - head;
        middle =
            middle.substr(0, head) + std::string{cut_marker} + middle.substr(middle.size() - tail);
    }
    return prefix + middle + suffix;
}

}  // namespace podsession::reconcile
