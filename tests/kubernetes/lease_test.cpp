#include "controller/kubernetes/lease.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "controller/kubernetes/backoff.hpp"

namespace podsession::controller::kubernetes {
namespace {

using namespace std::chrono;
using steady = steady_clock;

micro_time at(std::int64_t micros_since_epoch) {
    return micro_time{microseconds{micros_since_epoch}};
}

TEST(lease, formats_micro_time) {
    EXPECT_EQ(format_micro_time(at(0)), "1970-01-01T00:00:00.000000Z");
    const auto time = sys_days{2026y / December / 4} + hours{19} + minutes{37} + seconds{2} +
                      microseconds{123456};
    EXPECT_EQ(format_micro_time(time), "2026-12-04T19:37:02.123456Z");
}

TEST(lease, decodes_and_encodes_spec) {
    const auto lease = boost::json::parse(
        R"({"metadata":{"name":"podsession-controller-default","resourceVersion":"9"},)"
        R"("spec":{"holderIdentity":"ctl-a","leaseDurationSeconds":15,)"
        R"("acquireTime":"2026-12-04T19:00:00.000000Z","renewTime":"2026-12-04T19:00:10.000000Z",)"
        R"("leaseTransitions":2}})");
    const auto record = decode_lease(lease);
    EXPECT_EQ(record.holder_identity, "ctl-a");
    EXPECT_EQ(record.lease_duration, seconds{15});
    EXPECT_EQ(record.acquire_time, "2026-12-04T19:00:00.000000Z");
    EXPECT_EQ(record.renew_time, "2026-12-04T19:00:10.000000Z");
    EXPECT_EQ(record.lease_transitions, 2);

    const auto encoded =
        encode_lease("podsession-system", "podsession-controller-default", "9", record);
    EXPECT_EQ(encoded.at("apiVersion"), "coordination.k8s.io/v1");
    EXPECT_EQ(encoded.at("kind"), "Lease");
    EXPECT_EQ(encoded.at("metadata").at("resourceVersion"), "9");
    EXPECT_EQ(encoded.at("metadata").at("namespace"), "podsession-system");
    EXPECT_EQ(decode_lease(encoded), record);
    EXPECT_FALSE(
        encode_lease("ns", "n", "", record).at("metadata").as_object().contains("resourceVersion"));
    EXPECT_EQ(decode_lease(boost::json::parse("{}")), lease_record{});
}

TEST(lease, path_names_namespace) {
    EXPECT_EQ(lease_path("podsession-system", "podsession-controller-a1"),
              "/apis/coordination.k8s.io/v1/namespaces/podsession-system/leases/"
              "podsession-controller-a1");
}

TEST(lease, held_by_other_until_duration_after_observed_change) {
    lease_record record;
    record.holder_identity = "ctl-a";
    record.lease_duration = seconds{15};
    const auto observed = steady::time_point{} + hours{1};
    struct row {
        std::string identity;
        milliseconds since_observed;
        bool blocked;
    };
    const row rows[] = {
        {"ctl-b", milliseconds{0}, true},       {"ctl-b", milliseconds{14'999}, true},
        {"ctl-b", milliseconds{15'000}, false}, {"ctl-b", milliseconds{60'000}, false},
        {"ctl-a", milliseconds{0}, false},
    };
    for (const auto& [identity, since, blocked] : rows) {
        SCOPED_TRACE(identity + " after " + std::to_string(since.count()) + " ms");
        EXPECT_EQ(held_by_other(record, identity, observed, observed + since), blocked);
    }
    record.holder_identity.clear();
    EXPECT_FALSE(held_by_other(record, "ctl-b", observed, observed));
}

TEST(lease, claim_by_new_holder_counts_transition) {
    lease_record current{"ctl-a", seconds{15}, "2026-12-04T19:00:00.000000Z",
                         "2026-12-04T19:00:10.000000Z", 4};
    const auto claimed = claim_lease(current, "ctl-b", seconds{15}, at(1'000'000));
    EXPECT_EQ(claimed.holder_identity, "ctl-b");
    EXPECT_EQ(claimed.acquire_time, "1970-01-01T00:00:01.000000Z");
    EXPECT_EQ(claimed.renew_time, "1970-01-01T00:00:01.000000Z");
    EXPECT_EQ(claimed.lease_transitions, 5);
    EXPECT_EQ(claimed.lease_duration, seconds{15});
}

TEST(lease, renewal_keeps_acquire_time_and_transitions) {
    lease_record current{"ctl-a", seconds{15}, "2026-12-04T19:00:00.000000Z",
                         "2026-12-04T19:00:10.000000Z", 4};
    const auto renewed = claim_lease(current, "ctl-a", seconds{20}, at(2'500'000));
    EXPECT_EQ(renewed.acquire_time, current.acquire_time);
    EXPECT_EQ(renewed.lease_transitions, 4);
    EXPECT_EQ(renewed.renew_time, "1970-01-01T00:00:02.500000Z");
    EXPECT_EQ(renewed.lease_duration, seconds{20});
}

TEST(lease, release_empties_holder_and_shortens_duration) {
    lease_record current{"ctl-a", seconds{15}, "a", "r", 4};
    const auto released = release_lease(current, at(3'000'000));
    EXPECT_TRUE(released.holder_identity.empty());
    EXPECT_EQ(released.lease_duration, seconds{1});
    EXPECT_EQ(released.lease_transitions, 4);
    // The next holder takes it at once and counts a transition, as client-go does.
    EXPECT_FALSE(held_by_other(released, "ctl-b", steady::now(), steady::now()));
    EXPECT_EQ(claim_lease(released, "ctl-b", seconds{15}, at(4'000'000)).lease_transitions, 5);
}

TEST(backoff, grows_with_jitter_up_to_max) {
    backoff delays{milliseconds{100}, milliseconds{1000}, 7};
    const milliseconds ceilings[] = {milliseconds{100}, milliseconds{200},  milliseconds{400},
                                     milliseconds{800}, milliseconds{1000}, milliseconds{1000}};
    for (const auto ceiling : ceilings) {
        SCOPED_TRACE(ceiling.count());
        const auto delay = delays.next();
        EXPECT_GE(delay, ceiling / 2);
        EXPECT_LE(delay, ceiling);
    }
    EXPECT_EQ(delays.failures(), 6);
    delays.reset();
    EXPECT_LE(delays.next(), milliseconds{100});
}

}  // namespace
}  // namespace podsession::controller::kubernetes
