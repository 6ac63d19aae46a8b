#include "controller/kubernetes/lease.hpp"

#include <cstdio>

namespace podsession::controller::kubernetes {

std::string format_micro_time(micro_time time) {
    const auto day = std::chrono::floor<std::chrono::days>(time);
    const std::chrono::year_month_day date{day};
    const std::chrono::hh_mm_ss clock{time - day};
    char text[40];
    std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%06lldZ",
                  static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                  static_cast<unsigned>(date.day()), static_cast<int>(clock.hours().count()),
                  static_cast<int>(clock.minutes().count()),
                  static_cast<int>(clock.seconds().count()),
                  static_cast<long long>(clock.subseconds().count()));
    return text;
}

std::string lease_path(std::string_view namespace_name, std::string_view name) {
    std::string path =
        "/apis/coordination.k8s.io/v1/namespaces/" + std::string{namespace_name} + "/leases";
    if (!name.empty()) {
        path.append("/").append(name);
    }
    return path;
}

lease_record decode_lease(const boost::json::value& lease) {
    lease_record record;
    if (!lease.is_object()) {
        return record;
    }
    const auto* spec = lease.get_object().if_contains("spec");
    if (spec == nullptr || !spec->is_object()) {
        return record;
    }
    const auto& fields = spec->get_object();
    const auto string_at = [&](std::string_view key) {
        const auto* value = fields.if_contains(key);
        return value && value->is_string() ? std::string{value->get_string()} : std::string{};
    };
    const auto integer_at = [&](std::string_view key) -> std::int64_t {
        const auto* value = fields.if_contains(key);
        return value && value->is_int64() ? value->get_int64() : 0;
    };
    record.holder_identity = string_at("holderIdentity");
    record.lease_duration = std::chrono::seconds{integer_at("leaseDurationSeconds")};
    record.acquire_time = string_at("acquireTime");
    record.renew_time = string_at("renewTime");
    record.lease_transitions = static_cast<int>(integer_at("leaseTransitions"));
    return record;
}

boost::json::value encode_lease(std::string_view namespace_name, std::string_view name,
                                std::string_view resource_version, const lease_record& record) {
    boost::json::object metadata{{"name", name}, {"namespace", namespace_name}};
    if (!resource_version.empty()) {
        metadata["resourceVersion"] = resource_version;
    }
    boost::json::object spec{{"holderIdentity", record.holder_identity},
                             {"leaseDurationSeconds", record.lease_duration.count()},
                             {"leaseTransitions", record.lease_transitions}};
    if (!record.acquire_time.empty()) {
        spec["acquireTime"] = record.acquire_time;
    }
    if (!record.renew_time.empty()) {
        spec["renewTime"] = record.renew_time;
    }
    return boost::json::object{{"apiVersion", "coordination.k8s.io/v1"},
                               {"kind", "Lease"},
                               {"metadata", std::move(metadata)},
                               {"spec", std::move(spec)}};
}

bool held_by_other(const lease_record& record, std::string_view identity,
                   std::chrono::steady_clock::time_point observed_at,
                   std::chrono::steady_clock::time_point now) {
    if (record.holder_identity.empty() || record.holder_identity == identity) {
        return false;
    }
    return now < observed_at + record.lease_duration;
}

lease_record claim_lease(const lease_record& current, std::string_view identity,
                         std::chrono::seconds lease_duration, micro_time now) {
    lease_record next = current;
    const auto stamp = format_micro_time(now);
    if (current.holder_identity != identity) {
        next.holder_identity = std::string{identity};
        next.acquire_time = stamp;
        next.lease_transitions = current.lease_transitions + 1;
    }
    next.lease_duration = lease_duration;
    next.renew_time = stamp;
    return next;
}

lease_record release_lease(const lease_record& current, micro_time now) {
    lease_record next = current;
    const auto stamp = format_micro_time(now);
    next.holder_identity.clear();
    next.lease_duration = std::chrono::seconds{1};
    next.acquire_time = stamp;
    next.renew_time = stamp;
    return next;
}

}  // namespace podsession::controller::kubernetes
