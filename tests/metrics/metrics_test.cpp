#include "controller/metrics.hpp"

#include <chrono>
#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "crd/gpu_types.hpp"
#include "tests/metrics/exposition.hpp"

namespace podsession::controller {
namespace {

using namespace std::chrono_literals;
using test::exposition;
using test::label_set;
using test::parse_exposition;

constexpr std::string_view h100 = "NVIDIA H100 80GB HBM3";
constexpr std::string_view a100 = "NVIDIA A100 80GB PCIe";

std::set<std::string> gpu_labels() {
    std::set<std::string> labels;
    for (const auto id : crd::known_gpu_ids()) {
        labels.emplace(id);
    }
    labels.emplace("other");
    return labels;
}

std::set<std::string> values_of(const exposition& parsed, std::string_view name,
                                const std::string& label) {
    std::set<std::string> values;
    for (const auto& sample : parsed.samples_named(name)) {
        values.insert(sample.labels.at(label));
    }
    return values;
}

crd::observed_pod make_pod(std::string id, crd::pod_status status, std::string_view gpu_type) {
    crd::observed_pod pod;
    pod.id = std::move(id);
    pod.status = status;
    pod.gpu_type = std::string{gpu_type};
    return pod;
}

TEST(metrics, declares_every_family_with_type_and_help) {
    const std::vector<std::pair<std::string, std::string>> families{
        {"podsession_sessions", "gauge"},
        {"podsession_pods", "gauge"},
        {"podsession_spend_usd_per_hour", "gauge"},
        {"podsession_spend_usd_total", "counter"},
        {"podsession_pods_created_total", "counter"},
        {"podsession_pods_terminated_total", "counter"},
        {"podsession_terminate_failures_total", "counter"},
        {"podsession_provider_requests_total", "counter"},
        {"podsession_provider_request_duration_seconds", "histogram"},
        {"podsession_reconcile_total", "counter"},
        {"podsession_reconcile_duration_seconds", "histogram"},
        {"podsession_time_to_ready_seconds", "histogram"},
        {"podsession_leader", "gauge"},
        {"podsession_build_info", "gauge"},
    };
    const metrics registry;
    const auto parsed = parse_exposition(registry.serialize());

    EXPECT_EQ(parsed.types.size(), families.size());
    for (const auto& [name, type] : families) {
        SCOPED_TRACE(name);
        ASSERT_TRUE(parsed.types.contains(name));
        EXPECT_EQ(parsed.types.at(name), type);
        ASSERT_TRUE(parsed.helps.contains(name));
        EXPECT_GE(parsed.helps.at(name).size(), 20U);
    }
}

TEST(metrics, creates_every_label_set_at_zero) {
    const metrics registry;
    const auto parsed = parse_exposition(registry.serialize());
    const auto gpus = gpu_labels();

    EXPECT_EQ(values_of(parsed, "podsession_sessions", "phase"),
              (std::set<std::string>{"Pending", "Provisioning", "Running", "Expired", "Failed",
                                     "Terminating"}));
    EXPECT_EQ(values_of(parsed, "podsession_pods", "status"),
              (std::set<std::string>{"PROVISIONING", "STARTING", "RUNNING", "EXITED", "ERROR",
                                     "TERMINATED", "UNKNOWN"}));
    EXPECT_EQ(parsed.samples_named("podsession_pods").size(), 7 * gpus.size());
    EXPECT_EQ(values_of(parsed, "podsession_pods", "gpu_type"), gpus);
    EXPECT_EQ(values_of(parsed, "podsession_spend_usd_per_hour", "gpu_type"), gpus);
    EXPECT_EQ(values_of(parsed, "podsession_spend_usd_total", "gpu_type"), gpus);
    EXPECT_EQ(values_of(parsed, "podsession_pods_created_total", "gpu_type"), gpus);
    EXPECT_EQ(values_of(parsed, "podsession_pods_terminated_total", "reason"),
              (std::set<std::string>{"idle_timeout", "max_lifetime", "ready_timeout", "pod_failed",
                                     "deleted", "orphan", "duplicate"}));
    EXPECT_TRUE(parsed.value("podsession_terminate_failures_total").has_value());
    EXPECT_EQ(values_of(parsed, "podsession_provider_requests_total", "operation"),
              (std::set<std::string>{"create", "list", "get", "terminate"}));
    EXPECT_EQ(values_of(parsed, "podsession_provider_requests_total", "code"),
              (std::set<std::string>{"ok", "unauthorized", "forbidden", "payment_required",
                                     "not_found", "conflict", "invalid_request", "capacity",
                                     "rate_limited", "transient", "unknown_outcome"}));
    EXPECT_EQ(parsed.samples_named("podsession_provider_requests_total").size(), 4U * 11U);
    EXPECT_EQ(values_of(parsed, "podsession_provider_request_duration_seconds_count", "operation"),
              (std::set<std::string>{"create", "list", "get", "terminate"}));
    EXPECT_EQ(values_of(parsed, "podsession_reconcile_total", "result"),
              (std::set<std::string>{"success", "requeue", "error"}));
    EXPECT_TRUE(parsed.value("podsession_reconcile_duration_seconds_count").has_value());
    EXPECT_EQ(values_of(parsed, "podsession_time_to_ready_seconds_count", "gpu_type"), gpus);
    EXPECT_TRUE(parsed.value("podsession_leader").has_value());

    for (const auto& sample : parsed.samples) {
        if (sample.name == "podsession_build_info") {
            continue;
        }
        SCOPED_TRACE(sample.name);
        EXPECT_EQ(sample.value, 0);
    }
}

TEST(metrics, build_info_is_one_with_version) {
    const metrics registry;
    const auto parsed = parse_exposition(registry.serialize());

    EXPECT_EQ(parsed.value("podsession_build_info", {{"version", PODSESSION_VERSION}}), 1);
    EXPECT_EQ(parsed.samples_named("podsession_build_info").size(), 1U);
}

TEST(metrics, recording_never_adds_series) {
    metrics registry;
    const auto before = parse_exposition(registry.serialize()).samples.size();

    registry.record_pod_created("a GPU no catalog lists");
    registry.record_time_to_ready("", 90s);
    registry.add_spend("user-42", 1.5);
    const std::vector pods{make_pod("p1", crd::pod_status::running, "NVIDIA Z9000")};
    registry.set_pods(pods);
    registry.set_spend_per_hour({{"apps/user-42", 3.0}});
    registry.record_provider_request(metrics::provider_operation::create,
                                     static_cast<providers::errc>(99), 1s);
    registry.record_pod_terminated(static_cast<metrics::terminate_reason>(99));

    EXPECT_EQ(parse_exposition(registry.serialize()).samples.size(), before);
}

TEST(metrics, gpu_type_outside_catalog_is_other) {
    metrics registry;
    registry.record_pod_created("NVIDIA Z9000");
    registry.record_pod_created("");
    registry.record_pod_created(h100);
    const auto parsed = parse_exposition(registry.serialize());

    EXPECT_EQ(parsed.value("podsession_pods_created_total", {{"gpu_type", "other"}}), 2);
    EXPECT_EQ(parsed.value("podsession_pods_created_total", {{"gpu_type", std::string{h100}}}), 1);
}

TEST(metrics, gpu_type_label_table) {
    EXPECT_EQ(gpu_type_label(h100), h100);
    EXPECT_EQ(gpu_type_label("AMD Instinct MI300X OAM"), "AMD Instinct MI300X OAM");
    EXPECT_EQ(gpu_type_label("nvidia h100 80gb hbm3"), "other");
    EXPECT_EQ(gpu_type_label("h100"), "other");
    EXPECT_EQ(gpu_type_label(""), "other");
}

TEST(metrics, provider_code_label_names_every_error_class) {
    const std::vector<std::pair<std::optional<providers::errc>, std::string_view>> cases{
        {std::nullopt, "ok"},
        {providers::errc::unauthorized, "unauthorized"},
        {providers::errc::forbidden, "forbidden"},
        {providers::errc::payment_required, "payment_required"},
        {providers::errc::not_found, "not_found"},
        {providers::errc::conflict, "conflict"},
        {providers::errc::invalid_request, "invalid_request"},
        {providers::errc::capacity, "capacity"},
        {providers::errc::rate_limited, "rate_limited"},
        {providers::errc::transient, "transient"},
        {providers::errc::unknown_outcome, "unknown_outcome"},
    };
    for (const auto& [error, label] : cases) {
        SCOPED_TRACE(label);
        EXPECT_EQ(provider_code_label(error), label);
    }
}

TEST(metrics, set_sessions_zeroes_missing_phases) {
    metrics registry;
    registry.set_sessions({{crd::session_phase::running, 3}, {crd::session_phase::pending, 2}});
    registry.set_sessions({{crd::session_phase::running, 5}});
    const auto parsed = parse_exposition(registry.serialize());

    EXPECT_EQ(parsed.value("podsession_sessions", {{"phase", "Running"}}), 5);
    EXPECT_EQ(parsed.value("podsession_sessions", {{"phase", "Pending"}}), 0);
    EXPECT_EQ(parsed.value("podsession_sessions", {{"phase", "Expired"}}), 0);
}

TEST(metrics, set_pods_counts_by_status_and_gpu_type) {
    metrics registry;
    const std::vector first{
        make_pod("p1", crd::pod_status::running, h100),
        make_pod("p2", crd::pod_status::running, h100),
        make_pod("p3", crd::pod_status::starting, a100),
        make_pod("p4", crd::pod_status::unknown, "NVIDIA Z9000"),
    };
    registry.set_pods(first);
    auto parsed = parse_exposition(registry.serialize());

    const std::string h100_label{h100};
    const std::string a100_label{a100};
    EXPECT_EQ(parsed.value("podsession_pods", {{"status", "RUNNING"}, {"gpu_type", h100_label}}),
              2);
    EXPECT_EQ(parsed.value("podsession_pods", {{"status", "STARTING"}, {"gpu_type", a100_label}}),
              1);
    EXPECT_EQ(parsed.value("podsession_pods", {{"status", "UNKNOWN"}, {"gpu_type", "other"}}), 1);

    const std::vector second{make_pod("p3", crd::pod_status::running, a100)};
    registry.set_pods(second);
    parsed = parse_exposition(registry.serialize());

    EXPECT_EQ(parsed.value("podsession_pods", {{"status", "RUNNING"}, {"gpu_type", h100_label}}),
              0);
    EXPECT_EQ(parsed.value("podsession_pods", {{"status", "STARTING"}, {"gpu_type", a100_label}}),
              0);
    EXPECT_EQ(parsed.value("podsession_pods", {{"status", "RUNNING"}, {"gpu_type", a100_label}}),
              1);
    EXPECT_EQ(parsed.value("podsession_pods", {{"status", "UNKNOWN"}, {"gpu_type", "other"}}), 0);
}

TEST(metrics, per_hour_sums_unknown_as_other) {
    metrics registry;
    registry.set_spend_per_hour({{std::string{h100}, 5.98}, {"NVIDIA Z9000", 1.0}, {"", 0.5}});
    auto parsed = parse_exposition(registry.serialize());

    EXPECT_EQ(parsed.value("podsession_spend_usd_per_hour", {{"gpu_type", std::string{h100}}}),
              5.98);
    EXPECT_EQ(parsed.value("podsession_spend_usd_per_hour", {{"gpu_type", "other"}}), 1.5);

    registry.set_spend_per_hour({});
    parsed = parse_exposition(registry.serialize());

    EXPECT_EQ(parsed.value("podsession_spend_usd_per_hour", {{"gpu_type", std::string{h100}}}), 0);
    EXPECT_EQ(parsed.value("podsession_spend_usd_per_hour", {{"gpu_type", "other"}}), 0);
}

TEST(metrics, add_spend_ignores_negative_and_not_finite) {
    metrics registry;
    registry.add_spend(h100, 1.25);
    registry.add_spend(h100, -1);
    registry.add_spend(h100, std::numeric_limits<double>::quiet_NaN());
    registry.add_spend(h100, std::numeric_limits<double>::infinity());
    const auto parsed = parse_exposition(registry.serialize());

    EXPECT_EQ(parsed.value("podsession_spend_usd_total", {{"gpu_type", std::string{h100}}}), 1.25);
}

TEST(metrics, counts_pods_created_and_terminated) {
    metrics registry;
    registry.record_pod_created(h100);
    registry.record_pod_terminated(metrics::terminate_reason::orphan);
    registry.record_pod_terminated(metrics::terminate_reason::orphan);
    registry.record_pod_terminated(metrics::terminate_reason::idle_timeout);
    registry.record_terminate_failure();
    const auto parsed = parse_exposition(registry.serialize());

    EXPECT_EQ(parsed.value("podsession_pods_created_total", {{"gpu_type", std::string{h100}}}), 1);
    EXPECT_EQ(parsed.value("podsession_pods_terminated_total", {{"reason", "orphan"}}), 2);
    EXPECT_EQ(parsed.value("podsession_pods_terminated_total", {{"reason", "idle_timeout"}}), 1);
    EXPECT_EQ(parsed.value("podsession_pods_terminated_total", {{"reason", "duplicate"}}), 0);
    EXPECT_EQ(parsed.value("podsession_terminate_failures_total"), 1);
}

TEST(metrics, provider_request_counts_code_and_latency) {
    metrics registry;
    registry.record_provider_request(metrics::provider_operation::list, std::nullopt, 40ms);
    registry.record_provider_request(metrics::provider_operation::list,
                                     providers::errc::rate_limited, 2s);
    registry.record_provider_request(metrics::provider_operation::create,
                                     providers::errc::unknown_outcome, 30s);
    const auto parsed = parse_exposition(registry.serialize());

    const auto requests = [&](std::string operation, std::string code) {
        return parsed.value("podsession_provider_requests_total",
                            {{"operation", std::move(operation)}, {"code", std::move(code)}});
    };
    EXPECT_EQ(requests("list", "ok"), 1);
    EXPECT_EQ(requests("list", "rate_limited"), 1);
    EXPECT_EQ(requests("create", "unknown_outcome"), 1);
    EXPECT_EQ(requests("create", "ok"), 0);

    const auto bucket = [&](std::string operation, std::string le) {
        return parsed.value("podsession_provider_request_duration_seconds_bucket",
                            {{"operation", std::move(operation)}, {"le", std::move(le)}});
    };
    EXPECT_EQ(bucket("list", "0.025"), 0);
    EXPECT_EQ(bucket("list", "0.05"), 1);
    EXPECT_EQ(bucket("list", "2.5"), 2);
    EXPECT_EQ(bucket("list", "+Inf"), 2);
    EXPECT_EQ(bucket("create", "20"), 0);
    EXPECT_EQ(bucket("create", "30"), 1);
    EXPECT_EQ(bucket("create", "60"), 1);
    EXPECT_EQ(
        parsed.value("podsession_provider_request_duration_seconds_count", {{"operation", "list"}}),
        2);
    EXPECT_NEAR(
        *parsed.value("podsession_provider_request_duration_seconds_sum", {{"operation", "list"}}),
        2.04, 1e-9);
}

TEST(metrics, provider_latency_buckets_span_5ms_to_60s) {
    const metrics registry;
    const auto parsed = parse_exposition(registry.serialize());

    std::vector<double> bounds;
    for (const auto& sample :
         parsed.samples_named("podsession_provider_request_duration_seconds_bucket")) {
        if (sample.labels.at("operation") == "get" && sample.labels.at("le") != "+Inf") {
            bounds.push_back(std::stod(sample.labels.at("le")));
        }
    }
    ASSERT_FALSE(bounds.empty());
    EXPECT_EQ(bounds.front(), 0.005);
    EXPECT_EQ(bounds.back(), 60);
}

TEST(metrics, reconcile_counts_result_and_duration) {
    metrics registry;
    registry.record_reconcile(metrics::reconcile_result::success, 200us);
    registry.record_reconcile(metrics::reconcile_result::requeue, 3ms);
    registry.record_reconcile(metrics::reconcile_result::error, 12s);
    const auto parsed = parse_exposition(registry.serialize());

    EXPECT_EQ(parsed.value("podsession_reconcile_total", {{"result", "success"}}), 1);
    EXPECT_EQ(parsed.value("podsession_reconcile_total", {{"result", "requeue"}}), 1);
    EXPECT_EQ(parsed.value("podsession_reconcile_total", {{"result", "error"}}), 1);
    EXPECT_EQ(parsed.value("podsession_reconcile_duration_seconds_bucket", {{"le", "0.0001"}}), 0);
    EXPECT_EQ(parsed.value("podsession_reconcile_duration_seconds_bucket", {{"le", "0.00025"}}), 1);
    EXPECT_EQ(parsed.value("podsession_reconcile_duration_seconds_bucket", {{"le", "10"}}), 2);
    EXPECT_EQ(parsed.value("podsession_reconcile_duration_seconds_bucket", {{"le", "+Inf"}}), 3);
}

TEST(metrics, time_to_ready_observes_by_gpu_type) {
    metrics registry;
    registry.record_time_to_ready(h100, 4min);
    registry.record_time_to_ready(h100, 2h);
    const auto parsed = parse_exposition(registry.serialize());

    const std::string label{h100};
    const auto bucket = [&](std::string le) {
        return parsed.value("podsession_time_to_ready_seconds_bucket",
                            {{"gpu_type", label}, {"le", std::move(le)}});
    };
    EXPECT_EQ(bucket("5"), 0);
    EXPECT_EQ(bucket("180"), 0);
    EXPECT_EQ(bucket("240"), 1);
    EXPECT_EQ(bucket("3600"), 1);
    EXPECT_EQ(bucket("+Inf"), 2);
    EXPECT_EQ(parsed.value("podsession_time_to_ready_seconds_sum", {{"gpu_type", label}}), 7440);
    EXPECT_EQ(parsed.value("podsession_time_to_ready_seconds_count", {{"gpu_type", "other"}}), 0);
}

TEST(metrics, leader_gauge_follows_set_leader) {
    metrics registry;
    registry.set_leader(true);
    EXPECT_EQ(parse_exposition(registry.serialize()).value("podsession_leader"), 1);

    registry.set_leader(false);
    EXPECT_EQ(parse_exposition(registry.serialize()).value("podsession_leader"), 0);
}

}  // namespace
}  // namespace podsession::controller
