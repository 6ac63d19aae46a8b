#include "reconcile/planner.hpp"

#include <algorithm>
#include <string>

#include <gtest/gtest.h>

#include "reconcile/conditions.hpp"
#include "reconcile/pod_name.hpp"

namespace podsession::reconcile {
namespace {

using namespace std::chrono;
using crd::observed_pod;
using crd::pod_status;
using crd::session_phase;
using crd::session_reason;

const timestamp t0 = sys_days{year{2026} / December / 4} + hours{12};
constexpr std::string_view uid = "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d";

std::vector<std::string> described(const std::vector<action>& actions) {
    std::vector<std::string> result;
    for (const auto& planned : actions) {
        result.push_back(describe(planned));
    }
    return result;
}

bool has_note(const session_plan& plan, std::string_view reason) {
    return std::ranges::any_of(plan.notes, [&](const note& item) { return item.reason == reason; });
}

std::string condition_status(const crd::pod_session_status& status, std::string_view type) {
    const auto* found = status.find_condition(type);
    return found ? found->status : "absent";
}

class planner : public ::testing::Test {
  protected:
    planner() {
        session.metadata.name = "user-42";
        session.metadata.namespace_name = "apps";
        session.metadata.uid = std::string{uid};
        session.metadata.generation = 1;
        session.spec.image = "ghcr.io/me/inference:latest";
        session.spec.gpu.types = {"NVIDIA H100 80GB HBM3", "NVIDIA H100 PCIe"};
        session.spec.ports = {{8000, crd::port_protocol::http}};
        session.spec.idle_ttl = minutes{2};
    }

    std::string pod_name() const { return make_pod_name("default", "apps", "user-42", uid); }

    observed_pod pod(std::string id, pod_status status, timestamp created,
                     std::optional<timestamp> started = std::nullopt) const {
        observed_pod result;
        result.id = std::move(id);
        result.name = pod_name();
        result.status = status;
        result.gpu_type = "NVIDIA H100 80GB HBM3";
        result.gpu_count = 1;
        result.cost_per_hour = status == pod_status::terminated ? 0 : 2.99;
        result.created_at = created;
        result.started_at = started;
        result.session_uid = std::string{uid};
        return result;
    }

    void touch(std::string value) {
        session.metadata.annotations["podsession.io/last-touched"] = std::move(value);
    }

    // Plans once and carries status and memory forward, as the executor does.
    session_plan run(timestamp now) {
        session_input input{&session, deleted, spec_errors, has_valid_spec, memory};
        auto plan = plan_session(input, pods, usage, provider, now, config);
        session.status = plan.status;
        memory = plan.memory;
        return plan;
    }

    // A session whose pod was created at t0 and first seen RUNNING at `ready`.
    void run_until_ready(timestamp ready) {
        pods = {pod("pod1", pod_status::provisioning, t0)};
        run(t0 + seconds{1});
        pods = {pod("pod1", pod_status::running, t0, ready)};
        run(ready);
    }

    settings config;
    provider_state provider;
    crd::pod_session session;
    std::vector<observed_pod> pods;
    session_memory memory;
    fleet_usage usage;
    bool deleted = false;
    std::vector<std::string> spec_errors;
    bool has_valid_spec = true;
};

TEST_F(planner, creates_pod_for_new_session) {
    const auto plan = run(t0);
    EXPECT_EQ(described(plan.actions), std::vector<std::string>{"create pod " + pod_name()});
    const auto& create = std::get<create_pod>(plan.actions[0]);
    EXPECT_EQ(create.session, "apps/user-42");
    EXPECT_EQ(create.gpu_types, session.spec.gpu.types);
    EXPECT_EQ(plan.status.phase, session_phase::pending);
    EXPECT_EQ(plan.status.create_requested_at, t0);
    EXPECT_EQ(plan.status.pod_name, pod_name());
    EXPECT_EQ(condition_status(plan.status, "Ready"), "False");
    EXPECT_EQ(usage.pods, 1);
}

TEST_F(planner, waits_for_listing_lag_after_a_create) {
    run(t0);
    const auto plan = run(t0 + seconds{10});
    EXPECT_TRUE(plan.actions.empty());
    EXPECT_EQ(plan.wake_at, t0 + config.create_settle);
}

TEST_F(planner, creates_again_when_pod_never_appeared) {
    run(t0);
    const auto plan = run(t0 + config.create_settle);
    EXPECT_EQ(described(plan.actions), std::vector<std::string>{"create pod " + pod_name()});
    EXPECT_EQ(plan.status.create_requested_at, t0 + config.create_settle);
}

TEST_F(planner, adopts_a_listed_pod_instead_of_creating) {
    pods = {pod("pod1", pod_status::running, t0 - minutes{5}, t0 - minutes{1})};
    const auto plan = run(t0);
    EXPECT_TRUE(plan.actions.empty());
    EXPECT_TRUE(has_note(plan, "Adopted"));
    EXPECT_EQ(plan.status.pod_id, "pod1");
    EXPECT_EQ(plan.status.phase, session_phase::running);
    EXPECT_EQ(plan.status.created_at, t0 - minutes{5});
    EXPECT_EQ(plan.status.ready_at, t0);
    EXPECT_EQ(plan.status.cost_per_hour, 2.99);
    ASSERT_EQ(plan.status.endpoints.size(), 1u);
    EXPECT_EQ(plan.status.endpoints[0].url, "https://pod1-8000.proxy.runpod.net");
    EXPECT_EQ(condition_status(plan.status, "Ready"), "True");
}

TEST_F(planner, ignores_pod_whose_env_names_another_session) {
    auto foreign = pod("pod1", pod_status::running, t0 - minutes{5});
    foreign.session_uid = "99999999-0000";
    pods = {foreign};
    const auto plan = run(t0);
    EXPECT_EQ(described(plan.actions), std::vector<std::string>{"create pod " + pod_name()});
}

TEST_F(planner, starts_idle_clock_when_pod_first_runs) {
    // A 2-minute TTL on a pod that needed 4 minutes to boot: it must not expire
    // 2 minutes after creation but 2 minutes after it started running.
    pods = {pod("pod1", pod_status::provisioning, t0)};
    auto plan = run(t0 + seconds{1});
    EXPECT_EQ(plan.status.phase, session_phase::provisioning);
    plan = run(t0 + minutes{3});
    EXPECT_EQ(plan.status.phase, session_phase::provisioning);
    EXPECT_TRUE(plan.actions.empty());

    pods = {pod("pod1", pod_status::running, t0, t0 + minutes{4})};
    plan = run(t0 + minutes{4});
    EXPECT_EQ(plan.status.ready_at, t0 + minutes{4});
    EXPECT_EQ(plan.status.expires_at, t0 + minutes{6});
    EXPECT_EQ(plan.wake_at, t0 + minutes{6});

    plan = run(t0 + minutes{6} - milliseconds{1});
    EXPECT_EQ(plan.status.phase, session_phase::running);
    EXPECT_TRUE(plan.actions.empty());

    plan = run(t0 + minutes{6});
    EXPECT_EQ(plan.status.phase, session_phase::expired);
    EXPECT_EQ(plan.status.reason, session_reason::idle_timeout);
    EXPECT_EQ(described(plan.actions),
              std::vector<std::string>{"terminate pod pod1 (idle_timeout)"});
}

TEST_F(planner, reads_touch_annotations_in_every_rfc3339_form) {
    struct test_case {
        std::string annotation;
        timestamp expected_touch;
    };
    const timestamp ready = t0 + minutes{1};
    const test_case cases[] = {
        {"2026-12-04T12:05:00Z", t0 + minutes{5}},
        {"2026-12-04T17:35:00+05:30", t0 + minutes{5}},
        {"2026-12-04T07:05:00-05:00", t0 + minutes{5}},
        {"2026-12-04T12:05:00.750Z", t0 + minutes{5} + milliseconds{750}},
        {"2026-12-04t12:05:00z", t0 + minutes{5}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.annotation);
        session.status = {};
        memory = {};
        run_until_ready(ready);
        touch(c.annotation);
        const auto plan = run(t0 + minutes{6});
        EXPECT_EQ(plan.status.last_touched, c.expected_touch);
        EXPECT_EQ(plan.status.expires_at, ceil<seconds>(c.expected_touch + minutes{2}));
        EXPECT_EQ(condition_status(plan.status, "TouchInvalid"), "absent");
        session.metadata.annotations.clear();
    }
}

TEST_F(planner, touching_keeps_session_alive_past_ttl) {
    run_until_ready(t0);
    for (int minute = 1; minute <= 10; ++minute) {
        touch(crd::format_rfc3339(t0 + minutes{minute}));
        const auto plan = run(t0 + minutes{minute} + seconds{30});
        EXPECT_EQ(plan.status.phase, session_phase::running);
        EXPECT_TRUE(plan.actions.empty());
    }
    const auto plan = run(t0 + minutes{12});
    EXPECT_EQ(plan.status.phase, session_phase::expired);
}

TEST_F(planner, clamps_future_touch_to_the_time_first_seen) {
    run_until_ready(t0);
    touch("2026-12-04T14:00:00Z");
    auto plan = run(t0 + minutes{1});
    EXPECT_EQ(plan.status.last_touched, t0 + minutes{1});
    EXPECT_TRUE(has_note(plan, "TouchInFuture"));

    // The same annotation later does not extend the session again.
    plan = run(t0 + minutes{2});
    EXPECT_EQ(plan.status.last_touched, t0 + minutes{1});
    EXPECT_FALSE(has_note(plan, "TouchInFuture"));
    plan = run(t0 + minutes{3});
    EXPECT_EQ(plan.status.phase, session_phase::expired);
}

TEST_F(planner, invalid_touch_message_escapes_controls) {
    // The message goes into a condition and an Event, which tools print raw.
    run_until_ready(t0);
    touch("\x1b]0;owned\x07noon");
    const auto plan = run(t0 + minutes{1});
    const auto* condition = plan.status.find_condition("TouchInvalid");
    ASSERT_NE(condition, nullptr);
    EXPECT_EQ(condition->message.find('\x1b'), std::string::npos);
    EXPECT_NE(condition->message.find("\\x1b]0;owned\\x07noon"), std::string::npos);
}

TEST_F(planner, keeps_last_touch_on_invalid_annotation) {
    run_until_ready(t0);
    touch("2026-12-04T12:01:00Z");
    run(t0 + minutes{1} + seconds{10});
    touch("yesterday at noon");
    auto plan = run(t0 + minutes{2});
    EXPECT_EQ(condition_status(plan.status, "TouchInvalid"), "True");
    EXPECT_TRUE(has_note(plan, "TouchInvalid"));
    EXPECT_EQ(plan.status.last_touched, t0 + minutes{1});
    EXPECT_EQ(plan.status.expires_at, t0 + minutes{3});

    plan = run(t0 + minutes{2} + seconds{30});
    EXPECT_FALSE(has_note(plan, "TouchInvalid"));

    touch("2026-12-04T12:02:40Z");
    plan = run(t0 + minutes{2} + seconds{45});
    EXPECT_EQ(condition_status(plan.status, "TouchInvalid"), "absent");
    EXPECT_EQ(plan.status.expires_at, t0 + minutes{4} + seconds{40});
}

TEST_F(planner, counts_idle_time_from_ready_without_annotation) {
    run_until_ready(t0 + minutes{1});
    const auto plan = run(t0 + minutes{2});
    EXPECT_FALSE(plan.status.last_touched.has_value());
    EXPECT_EQ(plan.status.expires_at, t0 + minutes{3});
}

TEST_F(planner, ignores_touches_older_than_ready) {
    touch("2026-12-04T11:00:00Z");
    run_until_ready(t0 + minutes{1});
    const auto plan = run(t0 + minutes{2});
    EXPECT_EQ(plan.status.last_touched, t0 - hours{1});
    EXPECT_EQ(plan.status.expires_at, t0 + minutes{3});
}

TEST_F(planner, never_revives_an_expired_session) {
    run_until_ready(t0);
    auto plan = run(t0 + minutes{2});
    ASSERT_EQ(plan.status.phase, session_phase::expired);
    touch(crd::format_rfc3339(t0 + minutes{3}));
    plan = run(t0 + minutes{3});
    EXPECT_EQ(plan.status.phase, session_phase::expired);
    EXPECT_EQ(described(plan.actions),
              std::vector<std::string>{"terminate pod pod1 (idle_timeout)"});

    pods = {pod("pod1", pod_status::terminated, t0)};
    plan = run(t0 + minutes{4});
    EXPECT_TRUE(plan.actions.empty());
    EXPECT_EQ(plan.status.phase, session_phase::expired);
    EXPECT_EQ(plan.status.terminated_at, t0 + minutes{4});
    EXPECT_TRUE(plan.status.endpoints.empty());
}

TEST_F(planner, expires_at_max_lifetime_despite_touches) {
    session.spec.max_lifetime = minutes{10};
    run_until_ready(t0 + minutes{1});
    touch(crd::format_rfc3339(t0 + minutes{9}));
    auto plan = run(t0 + minutes{9});
    EXPECT_EQ(plan.status.expires_at, t0 + minutes{10});
    plan = run(t0 + minutes{10});
    EXPECT_EQ(plan.status.phase, session_phase::expired);
    EXPECT_EQ(plan.status.reason, session_reason::max_lifetime);
    EXPECT_EQ(described(plan.actions),
              std::vector<std::string>{"terminate pod pod1 (max_lifetime)"});
}

TEST_F(planner, fails_pod_that_never_gets_ready) {
    session.spec.ready_timeout = seconds{1200};
    pods = {pod("pod1", pod_status::starting, t0)};
    auto plan = run(t0 + minutes{1});
    EXPECT_EQ(plan.wake_at, t0 + seconds{1200});
    plan = run(t0 + seconds{1200});
    EXPECT_EQ(plan.status.phase, session_phase::failed);
    EXPECT_EQ(plan.status.reason, session_reason::ready_timeout);
    EXPECT_EQ(described(plan.actions),
              std::vector<std::string>{"terminate pod pod1 (ready_timeout)"});
}

TEST_F(planner, fails_session_whose_pod_errors) {
    for (const auto status : {pod_status::error, pod_status::exited}) {
        SCOPED_TRACE(crd::to_string(status));
        session.status = {};
        pods = {pod("pod1", status, t0)};
        const auto plan = run(t0 + minutes{1});
        EXPECT_EQ(plan.status.phase, session_phase::failed);
        EXPECT_EQ(plan.status.reason, session_reason::pod_failed);
        EXPECT_EQ(described(plan.actions),
                  std::vector<std::string>{"terminate pod pod1 (pod_failed)"});
    }
}

TEST_F(planner, keeps_oldest_running_pod_of_duplicates) {
    pods = {pod("newer", pod_status::running, t0 + minutes{1}, t0 + minutes{2}),
            pod("older", pod_status::running, t0, t0 + minutes{3}),
            pod("booting", pod_status::provisioning, t0 - minutes{1})};
    const auto plan = run(t0 + minutes{4});
    EXPECT_EQ(plan.status.pod_id, "older");
    auto actions = described(plan.actions);
    std::ranges::sort(actions);
    EXPECT_EQ(actions, (std::vector<std::string>{"terminate pod booting (duplicate)",
                                                 "terminate pod newer (duplicate)"}));
}

TEST_F(planner, keeps_status_pod_when_none_is_running) {
    session.status.pod_id = "second";
    pods = {pod("first", pod_status::provisioning, t0),
            pod("second", pod_status::starting, t0 + seconds{5})};
    const auto plan = run(t0 + minutes{1});
    EXPECT_EQ(plan.status.pod_id, "second");
    EXPECT_EQ(described(plan.actions), std::vector<std::string>{"terminate pod first (duplicate)"});
}

TEST_F(planner, terminates_pod_of_deleted_session_then_releases) {
    run_until_ready(t0);
    deleted = true;
    auto plan = run(t0 + minutes{1});
    EXPECT_EQ(plan.status.phase, session_phase::terminating);
    EXPECT_EQ(plan.status.reason, session_reason::deleted);
    EXPECT_EQ(described(plan.actions), std::vector<std::string>{"terminate pod pod1 (deleted)"});

    // Missing from the list but not confirmed gone: terminate by id again.
    pods.clear();
    plan = run(t0 + minutes{2});
    EXPECT_EQ(described(plan.actions), std::vector<std::string>{"terminate pod pod1 (deleted)"});

    pods = {pod("pod1", pod_status::terminated, t0)};
    plan = run(t0 + minutes{3});
    EXPECT_EQ(described(plan.actions), std::vector<std::string>{"release session apps/user-42"});
    EXPECT_EQ(plan.status.terminated_at, t0 + minutes{3});
}

TEST_F(planner, releases_deleted_session_that_never_had_a_pod) {
    deleted = true;
    const auto plan = run(t0);
    EXPECT_EQ(described(plan.actions), std::vector<std::string>{"release session apps/user-42"});
}

TEST_F(planner, waits_for_a_settling_create_before_releasing) {
    run(t0);
    deleted = true;
    auto plan = run(t0 + seconds{5});
    EXPECT_TRUE(plan.actions.empty());
    EXPECT_EQ(plan.wake_at, t0 + config.create_settle);

    pods = {pod("late", pod_status::provisioning, t0 + seconds{1})};
    plan = run(t0 + seconds{10});
    EXPECT_EQ(described(plan.actions), std::vector<std::string>{"terminate pod late (deleted)"});
    // The status now names the pod, so a list that stops showing it (the
    // DELETE took effect, or lags) leads to a terminate by id, confirmed by a
    // GET, not to a release that never counted the termination.
    EXPECT_EQ(plan.status.pod_id, "late");

    pods.clear();
    plan = run(t0 + seconds{15});
    EXPECT_EQ(described(plan.actions), std::vector<std::string>{"terminate pod late (deleted)"});
}

TEST_F(planner, verifies_pod_missing_from_the_list) {
    run_until_ready(t0);
    pods.clear();
    const auto plan = run(t0 + minutes{1});
    EXPECT_EQ(described(plan.actions), std::vector<std::string>{"verify pod pod1"});
    EXPECT_EQ(plan.status.phase, session_phase::running);
}

TEST_F(planner, fails_session_whose_pod_vanished) {
    run_until_ready(t0);
    pods = {pod("pod1", pod_status::terminated, t0)};
    const auto plan = run(t0 + minutes{1});
    EXPECT_EQ(plan.status.phase, session_phase::failed);
    EXPECT_EQ(plan.status.reason, session_reason::pod_failed);
    EXPECT_TRUE(plan.actions.empty());
}

TEST_F(planner, pod_gone_after_deadline_expires) {
    // The controller terminated the pod at the idle deadline, but the status
    // write that said so failed: the pod found gone is that expiry, not a pod
    // lost outside the controller.
    run_until_ready(t0);
    pods = {pod("pod1", pod_status::terminated, t0)};
    const auto plan = run(t0 + hours{2});
    EXPECT_EQ(plan.status.phase, session_phase::expired);
    EXPECT_EQ(plan.status.reason, session_reason::idle_timeout);
    EXPECT_TRUE(plan.status.terminated_at.has_value());
    EXPECT_TRUE(plan.status.endpoints.empty());
    EXPECT_TRUE(plan.actions.empty());
}

TEST_F(planner, refuses_creates_beyond_max_pods) {
    config.max_pods = 2;
    usage.pods = 2;
    const auto plan = run(t0);
    EXPECT_TRUE(plan.actions.empty());
    EXPECT_EQ(condition_status(plan.status, "BudgetExceeded"), "True");
    EXPECT_TRUE(has_note(plan, "BudgetExceeded"));
    EXPECT_FALSE(plan.status.create_requested_at.has_value());
}

TEST_F(planner, refuses_creates_beyond_max_cost) {
    config.max_cost_per_hour = 5.0;
    usage.cost_per_hour = 2.5;
    auto plan = run(t0);
    EXPECT_TRUE(plan.actions.empty());
    EXPECT_EQ(condition_status(plan.status, "BudgetExceeded"), "True");

    usage.cost_per_hour = 2.0;
    plan = run(t0 + seconds{1});
    EXPECT_EQ(plan.actions.size(), 1u);
    EXPECT_EQ(condition_status(plan.status, "BudgetExceeded"), "absent");
}

TEST_F(planner, counts_planned_creates_against_the_guard) {
    config.max_pods = 1;
    auto plan = run(t0);
    EXPECT_EQ(plan.actions.size(), 1u);

    crd::pod_session other = session;
    other.metadata.name = "user-43";
    other.metadata.uid = "99999999-0000";
    other.status = {};
    session_input input{&other, false, {}, true, {}};
    const auto second = plan_session(input, {}, usage, provider, t0, config);
    EXPECT_TRUE(second.actions.empty());
    EXPECT_EQ(condition_status(second.status, "BudgetExceeded"), "True");
}

TEST_F(planner, dry_run_plans_without_mutating) {
    config.dry_run = true;
    auto plan = run(t0);
    EXPECT_TRUE(plan.actions.empty());
    EXPECT_EQ(described(plan.skipped), std::vector<std::string>{"create pod " + pod_name()});
    EXPECT_FALSE(plan.status.create_requested_at.has_value());
    EXPECT_EQ(session.status.find_condition("Ready")->reason, "DryRun");

    config.dry_run = false;
    run_until_ready(t0);
    config.dry_run = true;
    plan = run(t0 + minutes{3});
    EXPECT_EQ(plan.status.phase, session_phase::expired);
    EXPECT_TRUE(plan.actions.empty());
    EXPECT_EQ(described(plan.skipped),
              std::vector<std::string>{"terminate pod pod1 (idle_timeout)"});
}

TEST_F(planner, stops_creates_while_provider_is_blocked) {
    provider = {provider_block::creates,
                "RunPod answered 402 Payment Required: the balance is exhausted"};
    auto plan = run(t0);
    EXPECT_TRUE(plan.actions.empty());
    EXPECT_EQ(condition_status(plan.status, "ProviderError"), "True");

    // Terminates still go out.
    provider = {};
    run_until_ready(t0);
    provider = {provider_block::creates, "balance exhausted"};
    plan = run(t0 + minutes{2});
    EXPECT_EQ(described(plan.actions),
              std::vector<std::string>{"terminate pod pod1 (idle_timeout)"});
}

TEST_F(planner, backs_off_after_failed_create) {
    memory.create_backoff_until = t0 + seconds{30};
    memory.create_failure_reason = "NoCapacity";
    memory.create_failure_message = "no capacity for NVIDIA H100 80GB HBM3, NVIDIA H100 PCIe";
    auto plan = run(t0);
    EXPECT_TRUE(plan.actions.empty());
    EXPECT_EQ(plan.wake_at, t0 + seconds{30});
    EXPECT_EQ(session.status.find_condition("ProviderError")->reason, "NoCapacity");

    plan = run(t0 + seconds{30});
    EXPECT_EQ(plan.actions.size(), 1u);
}

TEST_F(planner, fails_session_the_provider_rejects) {
    memory.create_rejected = "gpu.count: must be at most 4";
    const auto plan = run(t0);
    EXPECT_EQ(plan.status.phase, session_phase::failed);
    EXPECT_EQ(plan.status.reason, session_reason::provider_rejected);
    EXPECT_TRUE(plan.actions.empty());
}

TEST_F(planner, creates_nothing_for_a_session_never_valid) {
    has_valid_spec = false;
    spec_errors = {"spec.gpu.types[0]: h100x is not a known GPU type"};
    const auto plan = run(t0);
    EXPECT_TRUE(plan.actions.empty());
    EXPECT_EQ(condition_status(plan.status, "SpecInvalid"), "True");
    EXPECT_TRUE(has_note(plan, "InvalidSpec"));
    EXPECT_EQ(plan.status.observed_generation, 0);
}

TEST_F(planner, keeps_running_on_last_valid_spec) {
    run_until_ready(t0);
    spec_errors = {"spec.gpu.types[0]: h100x is not a known GPU type"};
    const auto plan = run(t0 + minutes{1});
    EXPECT_EQ(plan.status.phase, session_phase::running);
    EXPECT_TRUE(plan.actions.empty());
    EXPECT_EQ(condition_status(plan.status, "SpecInvalid"), "True");
}

TEST_F(planner, publishes_tcp_endpoints_from_runtime_ports) {
    session.spec.ports = {{8000, crd::port_protocol::http}, {22, crd::port_protocol::tcp}};
    auto running = pod("pod1", pod_status::running, t0, t0);
    running.ports = {{22, 34446, "195.26.233.3", "tcp"}};
    pods = {running};
    const auto plan = run(t0 + seconds{1});
    ASSERT_EQ(plan.status.endpoints.size(), 2u);
    EXPECT_EQ(plan.status.endpoints[1].url, "tcp://195.26.233.3:34446");
}

class orphans : public ::testing::Test {
  protected:
    observed_pod make(std::string id, std::string name, timestamp created,
                      pod_status status = pod_status::running) {
        observed_pod pod;
        pod.id = std::move(id);
        pod.name = std::move(name);
        pod.status = status;
        pod.created_at = created;
        return pod;
    }

    settings config;
    std::map<std::string, std::string, std::less<>> claimed;
};

TEST_F(orphans, reaps_unclaimed_pods_after_grace) {
    const std::vector pods{make("old", "psn-default-apps-gone-0123abcd", t0 - minutes{11}),
                           make("young", "psn-default-apps-new-0123abcd", t0 - minutes{1})};
    const auto plan = plan_orphans(pods, claimed, true, t0, config);
    EXPECT_EQ(described(plan.actions), std::vector<std::string>{"terminate pod old (orphan)"});
    EXPECT_EQ(plan.wake_at, t0 - minutes{1} + config.orphan_grace);
}

TEST_F(orphans, never_touches_other_controllers_or_foreign_pods) {
    const std::vector pods{
        make("a", "psn-prod-apps-x-0123abcd", t0 - hours{5}),
        make("b", "psn-defaults-apps-x-0123abcd", t0 - hours{5}),
        make("c", "my-notebook", t0 - hours{5}),
        make("d", "psn-default-apps-x-0123abcd", t0 - hours{5}, pod_status::terminated)};
    const auto plan = plan_orphans(pods, claimed, true, t0, config);
    EXPECT_TRUE(plan.actions.empty());
}

TEST_F(orphans, spares_claimed_pods_unless_uid_differs) {
    auto mine = make("mine", "psn-default-apps-x-0123abcd", t0 - hours{1});
    mine.session_uid = "0123abcd-1111";
    auto stale = make("stale", "psn-default-apps-x-0123abcd", t0 - hours{1});
    stale.session_uid = "0123abcd-2222";
    claimed["psn-default-apps-x-0123abcd"] = "0123abcd-1111";
    const std::vector pods{mine, stale};
    const auto plan = plan_orphans(pods, claimed, true, t0, config);
    EXPECT_EQ(described(plan.actions), std::vector<std::string>{"terminate pod stale (orphan)"});
}

TEST_F(orphans, reaps_nothing_from_a_failed_list) {
    const std::vector pods{make("old", "psn-default-apps-gone-0123abcd", t0 - hours{1})};
    EXPECT_TRUE(plan_orphans(pods, claimed, false, t0, config).actions.empty());
}

TEST_F(orphans, dry_run_only_logs) {
    config.dry_run = true;
    const std::vector pods{make("old", "psn-default-apps-gone-0123abcd", t0 - hours{1})};
    const auto plan = plan_orphans(pods, claimed, true, t0, config);
    EXPECT_TRUE(plan.actions.empty());
    EXPECT_EQ(described(plan.skipped), std::vector<std::string>{"terminate pod old (orphan)"});
}

TEST(usage, counts_only_live_pods_of_this_controller) {
    settings config;
    const auto make = [](std::string name, pod_status status, double cost) {
        observed_pod pod;
        pod.id = name;
        pod.name = std::move(name);
        pod.status = status;
        pod.cost_per_hour = cost;
        return pod;
    };
    const auto ours = make("psn-default-x", pod_status::running, 2.99);
    const auto gone = make("psn-default-y", pod_status::terminated, 0);
    const auto theirs = make("psn-prod-z", pod_status::running, 1.0);
    const std::vector pods{ours, gone, theirs};
    const auto usage = measure_usage(pods, config);
    EXPECT_EQ(usage.pods, 1);
    EXPECT_DOUBLE_EQ(usage.cost_per_hour, 2.99);
}

TEST(cost_estimate, takes_the_most_expensive_candidate) {
    const std::vector<std::string> types{"NVIDIA GeForce RTX 3090", "NVIDIA H100 80GB HBM3"};
    EXPECT_DOUBLE_EQ(estimate_cost_per_hour(types, 2), 2 * 2.99);
    const std::vector<std::string> unknown{"NVIDIA B200"};
    EXPECT_DOUBLE_EQ(estimate_cost_per_hour(unknown, 1), 3.99);
}

}  // namespace
}  // namespace podsession::reconcile
