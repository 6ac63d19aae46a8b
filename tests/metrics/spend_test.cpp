#include "controller/spend.hpp"

#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/metrics/exposition.hpp"

namespace podsession::controller {
namespace {

using namespace std::chrono_literals;
using test::parse_exposition;

constexpr std::string_view h100 = "NVIDIA H100 80GB HBM3";
constexpr std::string_view a100 = "NVIDIA A100 80GB PCIe";

// 2026-12-04T19:00:00Z, an arbitrary fixed instant.
const crd::timestamp t0 =
    std::chrono::sys_days{std::chrono::year{2026} / 12 / 4} + std::chrono::hours{19};

crd::observed_pod make_pod(std::string id, std::string_view gpu_type, double cost_per_hour,
                           std::optional<crd::timestamp> created_at = t0 - 1h) {
    crd::observed_pod pod;
    pod.id = std::move(id);
    pod.name = "psn-test-default-" + pod.id;
    pod.status = crd::pod_status::running;
    pod.gpu_type = std::string{gpu_type};
    pod.gpu_count = 1;
    pod.cost_per_hour = cost_per_hour;
    pod.created_at = created_at;
    return pod;
}

double metric_total(const metrics& registry, std::string_view gpu_label) {
    const auto parsed = parse_exposition(registry.serialize());
    return parsed.value("podsession_spend_usd_total", {{"gpu_type", std::string{gpu_label}}})
        .value_or(-1);
}

TEST(spend, known_prices_over_known_time) {
    metrics registry;
    spend_tracker tracker{registry};
    const std::vector pods{
        make_pod("h100a", h100, 2.99),
        make_pod("a100a", a100, 1.64),
        make_pod("a100b", a100, 1.64),
        make_pod("z9000", "NVIDIA Z9000", 0.50),
    };

    // A list every 30 s for two hours: 241 lists, 240 intervals.
    for (auto now = t0; now <= t0 + 2h; now += 30s) {
        const auto report = tracker.observe(pods, now);
        EXPECT_FALSE(report.gap.has_value());
    }

    const double expected_h100 = 2.99 * 2;
    const double expected_a100 = 1.64 * 2 * 2;
    const double expected_other = 0.50 * 2;
    const double expected = expected_h100 + expected_a100 + expected_other;
    EXPECT_NEAR(tracker.total_usd(), expected, expected * 0.01);
    EXPECT_NEAR(tracker.total_usd(), expected, 1e-9);
    EXPECT_NEAR(tracker.total_usd(h100), expected_h100, 1e-9);
    EXPECT_NEAR(tracker.total_usd(a100), expected_a100, 1e-9);
    EXPECT_NEAR(tracker.total_usd("NVIDIA Z9000"), expected_other, 1e-9);
    EXPECT_NEAR(metric_total(registry, h100), expected_h100, 1e-9);
    EXPECT_NEAR(metric_total(registry, a100), expected_a100, 1e-9);
    EXPECT_NEAR(metric_total(registry, "other"), expected_other, 1e-9);
    EXPECT_EQ(metric_total(registry, "NVIDIA L4"), 0);
}

TEST(spend, first_list_adds_nothing) {
    metrics registry;
    spend_tracker tracker{registry};
    const std::vector pods{make_pod("p1", h100, 3.6, t0 - 30min)};

    const auto report = tracker.observe(pods, t0);

    EXPECT_EQ(report.added_usd, 0);
    EXPECT_EQ(tracker.total_usd(), 0);
}

TEST(spend, new_pod_counts_from_created_at) {
    metrics registry;
    spend_tracker tracker{registry};
    const auto old_pod = make_pod("p1", h100, 3.6);
    tracker.observe(std::vector{old_pod}, t0);

    const auto report =
        tracker.observe(std::vector{old_pod, make_pod("p2", a100, 3.6, t0 + 20s)}, t0 + 60s);

    EXPECT_NEAR(tracker.total_usd(h100), 0.06, 1e-12);
    EXPECT_NEAR(tracker.total_usd(a100), 0.04, 1e-12);
    EXPECT_NEAR(report.added_usd, 0.10, 1e-12);
}

TEST(spend, pod_created_before_list_waits) {
    metrics registry;
    spend_tracker tracker{registry};
    tracker.observe(std::vector{make_pod("p1", h100, 3.6)}, t0);
    const auto late = make_pod("p2", a100, 3.6, t0 - 10s);

    tracker.observe(std::vector{make_pod("p1", h100, 3.6), late}, t0 + 60s);
    EXPECT_EQ(tracker.total_usd(a100), 0);

    tracker.observe(std::vector{make_pod("p1", h100, 3.6), late}, t0 + 120s);
    EXPECT_NEAR(tracker.total_usd(a100), 0.06, 1e-12);
}

TEST(spend, pod_without_created_at_waits) {
    metrics registry;
    spend_tracker tracker{registry};
    tracker.observe(std::vector<crd::observed_pod>{}, t0);

    const auto pod = make_pod("p1", h100, 3.6, std::nullopt);
    tracker.observe(std::vector{pod}, t0 + 60s);
    EXPECT_EQ(tracker.total_usd(), 0);

    tracker.observe(std::vector{pod}, t0 + 120s);
    EXPECT_NEAR(tracker.total_usd(), 0.06, 1e-12);
}

TEST(spend, created_at_in_future_is_clamped_to_now) {
    metrics registry;
    spend_tracker tracker{registry};
    tracker.observe(std::vector<crd::observed_pod>{}, t0);

    const auto report =
        tracker.observe(std::vector{make_pod("p1", h100, 3.6, t0 + 5min)}, t0 + 60s);

    EXPECT_EQ(report.added_usd, 0);
    EXPECT_EQ(tracker.total_usd(), 0);
}

TEST(spend, disappeared_pod_stops_counting) {
    metrics registry;
    spend_tracker tracker{registry};
    const auto stays = make_pod("p1", h100, 3.6);
    const auto leaves = make_pod("p2", a100, 3.6);
    tracker.observe(std::vector{stays, leaves}, t0);
    tracker.observe(std::vector{stays, leaves}, t0 + 60s);

    tracker.observe(std::vector{stays}, t0 + 120s);
    tracker.observe(std::vector{stays}, t0 + 180s);

    EXPECT_NEAR(tracker.total_usd(a100), 0.06, 1e-12);
    EXPECT_NEAR(tracker.total_usd(h100), 0.18, 1e-12);
}

TEST(spend, cost_change_applies_from_next_interval) {
    metrics registry;
    spend_tracker tracker{registry};
    auto pod = make_pod("p1", h100, 3.6);
    tracker.observe(std::vector{pod}, t0);

    pod.status = crd::pod_status::exited;
    pod.cost_per_hour = 0;
    const auto first = tracker.observe(std::vector{pod}, t0 + 60s);
    const auto second = tracker.observe(std::vector{pod}, t0 + 120s);

    EXPECT_NEAR(first.added_usd, 0.06, 1e-12);
    EXPECT_EQ(second.added_usd, 0);
    EXPECT_NEAR(tracker.total_usd(), 0.06, 1e-12);
}

TEST(spend, gap_is_integrated_and_flagged) {
    metrics registry;
    spend_tracker tracker{registry, 5min};
    const std::vector pods{make_pod("p1", h100, 3.6)};
    tracker.observe(pods, t0);

    const auto across_gap = tracker.observe(pods, t0 + 10min);
    ASSERT_TRUE(across_gap.gap.has_value());
    EXPECT_EQ(*across_gap.gap, 10min);
    EXPECT_NEAR(across_gap.added_usd, 0.6, 1e-12);

    const auto at_limit = tracker.observe(pods, t0 + 15min);
    EXPECT_FALSE(at_limit.gap.has_value());
    EXPECT_NEAR(tracker.total_usd(), 0.9, 1e-12);
}

TEST(spend, clock_moved_back_adds_nothing) {
    metrics registry;
    spend_tracker tracker{registry};
    const std::vector pods{make_pod("p1", h100, 3.6)};
    tracker.observe(pods, t0);
    tracker.observe(pods, t0 + 60s);

    const auto back = tracker.observe(pods, t0 + 30s);
    EXPECT_TRUE(back.clock_moved_back);
    EXPECT_EQ(back.added_usd, 0);

    const auto forward = tracker.observe(pods, t0 + 90s);
    EXPECT_FALSE(forward.clock_moved_back);
    EXPECT_NEAR(forward.added_usd, 0.06, 1e-12);
    EXPECT_NEAR(tracker.total_usd(), 0.12, 1e-12);
}

TEST(spend, same_instant_adds_nothing) {
    metrics registry;
    spend_tracker tracker{registry};
    const std::vector pods{make_pod("p1", h100, 3.6)};
    tracker.observe(pods, t0);

    const auto report = tracker.observe(pods, t0);

    EXPECT_EQ(report.added_usd, 0);
    EXPECT_FALSE(report.clock_moved_back);
}

TEST(spend, invalid_cost_counts_as_zero) {
    metrics registry;
    spend_tracker tracker{registry};
    const std::vector pods{
        make_pod("negative", h100, -2),
        make_pod("nan", h100, std::numeric_limits<double>::quiet_NaN()),
        make_pod("infinite", h100, std::numeric_limits<double>::infinity()),
        make_pod("valid", a100, 3.6),
    };
    tracker.observe(pods, t0);

    const auto report = tracker.observe(pods, t0 + 60s);

    EXPECT_EQ(report.invalid_cost_pod_ids,
              (std::vector<std::string>{"negative", "nan", "infinite"}));
    EXPECT_EQ(tracker.total_usd(h100), 0);
    EXPECT_NEAR(tracker.total_usd(), 0.06, 1e-12);
    const auto parsed = parse_exposition(registry.serialize());
    EXPECT_EQ(parsed.value("podsession_spend_usd_per_hour", {{"gpu_type", std::string{h100}}}), 0);
}

TEST(spend, duplicate_id_counts_once) {
    metrics registry;
    spend_tracker tracker{registry};
    const std::vector pods{make_pod("p1", h100, 3.6), make_pod("p1", h100, 3.6)};
    tracker.observe(pods, t0);

    tracker.observe(pods, t0 + 60s);

    EXPECT_NEAR(tracker.total_usd(), 0.06, 1e-12);
}

TEST(spend, sets_per_hour_and_pods_gauges) {
    metrics registry;
    spend_tracker tracker{registry};
    auto starting = make_pod("p2", a100, 1.64);
    starting.status = crd::pod_status::starting;
    tracker.observe(std::vector{make_pod("p1", h100, 2.99), make_pod("p3", h100, 2.99), starting},
                    t0);

    auto parsed = parse_exposition(registry.serialize());
    const std::string h100_label{h100};
    const std::string a100_label{a100};
    EXPECT_NEAR(*parsed.value("podsession_spend_usd_per_hour", {{"gpu_type", h100_label}}), 5.98,
                1e-12);
    EXPECT_NEAR(*parsed.value("podsession_spend_usd_per_hour", {{"gpu_type", a100_label}}), 1.64,
                1e-12);
    EXPECT_EQ(parsed.value("podsession_pods", {{"status", "RUNNING"}, {"gpu_type", h100_label}}),
              2);
    EXPECT_EQ(parsed.value("podsession_pods", {{"status", "STARTING"}, {"gpu_type", a100_label}}),
              1);

    tracker.observe(std::vector<crd::observed_pod>{}, t0 + 30s);

    parsed = parse_exposition(registry.serialize());
    EXPECT_EQ(parsed.value("podsession_spend_usd_per_hour", {{"gpu_type", h100_label}}), 0);
    EXPECT_EQ(parsed.value("podsession_pods", {{"status", "RUNNING"}, {"gpu_type", h100_label}}),
              0);
}

}  // namespace
}  // namespace podsession::controller
