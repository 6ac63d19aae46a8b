#include "crd/pod_session.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace podsession::crd {
namespace {

constexpr std::array phase_names{
    std::pair{session_phase::pending, std::string_view{"Pending"}},
    std::pair{session_phase::provisioning, std::string_view{"Provisioning"}},
    std::pair{session_phase::running, std::string_view{"Running"}},
    std::pair{session_phase::expired, std::string_view{"Expired"}},
    std::pair{session_phase::failed, std::string_view{"Failed"}},
    std::pair{session_phase::terminating, std::string_view{"Terminating"}},
};

constexpr std::array reason_names{
    std::pair{session_reason::none, std::string_view{""}},
    std::pair{session_reason::idle_timeout, std::string_view{"IdleTimeout"}},
    std::pair{session_reason::max_lifetime, std::string_view{"MaxLifetime"}},
    std::pair{session_reason::ready_timeout, std::string_view{"ReadyTimeout"}},
    std::pair{session_reason::pod_failed, std::string_view{"PodFailed"}},
    std::pair{session_reason::provider_rejected, std::string_view{"ProviderRejected"}},
    std::pair{session_reason::deleted, std::string_view{"Deleted"}},
};

template <class Enum, std::size_t N>
std::string_view name_of(const std::array<std::pair<Enum, std::string_view>, N>& table,
                         Enum value) {
    for (const auto& [candidate, name] : table) {
        if (candidate == value) {
            return name;
        }
    }
    return "";
}

template <class Enum, std::size_t N>
std::optional<Enum> value_of(const std::array<std::pair<Enum, std::string_view>, N>& table,
                             std::string_view name) {
    for (const auto& [candidate, candidate_name] : table) {
        if (candidate_name == name) {
            return candidate;
        }
    }
    return std::nullopt;
}

}  // namespace

const condition* pod_session_status::find_condition(std::string_view type) const {
    const auto found = std::ranges::find(conditions, type, &condition::type);
    return found == conditions.end() ? nullptr : &*found;
}

std::string session_key(const object_meta& metadata) {
    std::string key;
    key.reserve(metadata.namespace_name.size() + 1 + metadata.name.size());
    key.append(metadata.namespace_name).append("/").append(metadata.name);
    return key;
}

std::string_view to_string(cloud_type value) {
    return value == cloud_type::secure ? "SECURE" : "COMMUNITY";
}

std::string_view to_string(port_protocol value) {
    return value == port_protocol::http ? "http" : "tcp";
}

std::string_view to_string(auth_mode value) {
    switch (value) {
        case auth_mode::bearer:
            return "bearer";
        case auth_mode::signed_url:
            return "signedUrl";
        case auth_mode::none:
            return "none";
    }
    return "";
}

std::string_view to_string(session_phase value) {
    return name_of(phase_names, value);
}

std::string_view to_string(session_reason value) {
    return name_of(reason_names, value);
}

std::optional<session_phase> parse_session_phase(std::string_view text) {
    return value_of(phase_names, text);
}

std::optional<session_reason> parse_session_reason(std::string_view text) {
    return value_of(reason_names, text);
}

}  // namespace podsession::crd
