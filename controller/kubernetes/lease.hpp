#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

// The coordination.k8s.io/v1 Lease of leader election, as pure functions:
// the record, its JSON, and the rules of client-go's leader election.
namespace podsession::controller::kubernetes {

// metav1.MicroTime: RFC 3339 with six fractional digits.
using micro_time = std::chrono::sys_time<std::chrono::microseconds>;

[[nodiscard]] std::string format_micro_time(micro_time time);

// The spec of a Lease. Times stay as the server stores them, because the
// record is compared as a whole to notice that its holder renewed it.
struct lease_record {
    std::string holder_identity;
    std::chrono::seconds lease_duration{0};
    std::string acquire_time;
    std::string renew_time;
    int lease_transitions = 0;

    bool operator==(const lease_record&) const = default;
};

// The Lease path: `/apis/coordination.k8s.io/v1/namespaces/NS/leases[/NAME]`.
[[nodiscard]] std::string lease_path(std::string_view namespace_name, std::string_view name = {});

// Reads `spec` of a Lease; missing fields stay empty or zero.
[[nodiscard]] lease_record decode_lease(const boost::json::value& lease);

// A Lease object for a create (`resource_version` empty) or an update.
[[nodiscard]] boost::json::value encode_lease(std::string_view namespace_name,
                                              std::string_view name,
                                              std::string_view resource_version,
                                              const lease_record& record);

// Whether another replica holds the lease: it names a holder that is not
// `identity`, and the record last changed (as this replica saw it, on its own
// monotonic clock) less than the record's lease duration ago. An empty holder
// is a released lease. As in client-go, expiry is judged from when the change
// was observed, never from the remote `renewTime`, so clocks need not agree.
[[nodiscard]] bool held_by_other(const lease_record& record, std::string_view identity,
                                 std::chrono::steady_clock::time_point observed_at,
                                 std::chrono::steady_clock::time_point now);

// The record this replica writes to take or renew the lease at `now`. A new
// holder sets the acquire time and counts a transition, as client-go does
// (also after a release). A renewal keeps both. A Lease created anew starts
// at zero transitions instead.
[[nodiscard]] lease_record claim_lease(const lease_record& current, std::string_view identity,
                                       std::chrono::seconds lease_duration, micro_time now);

// The record that gives the lease up on shutdown, so that another replica
// takes over without waiting for it to expire (client-go's ReleaseOnCancel).
[[nodiscard]] lease_record release_lease(const lease_record& current, micro_time now);

}  // namespace podsession::controller::kubernetes
