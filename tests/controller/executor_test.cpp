#include "controller/executor.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "reconcile/pod_name.hpp"
#include "tests/controller/fakes.hpp"

namespace podsession::controller {
namespace {

using namespace std::chrono;
using testing::fake_provider;
using testing::fake_store;

const crd::timestamp t0 = sys_days{year{2026} / December / 4} + hours{12};

class counting_observer final : public executor_observer {
  public:
    void pod_created(const std::string&) override { ++created; }
    void pod_terminated(reconcile::termination_reason reason) override {
        terminated.push_back(reason);
    }
    void terminate_failed() override { ++terminate_failures; }
    void reconciled(std::string_view, std::chrono::nanoseconds) override { ++reconciles; }

    int created = 0;
    int reconciles = 0;
    int terminate_failures = 0;
    std::vector<reconcile::termination_reason> terminated;
};

class executor_test : public ::testing::Test {
  protected:
    executor_test() : clock{t0}, provider{clock, journal}, store{journal} {
        spdlog::set_level(spdlog::level::warn);
        options.planner.create_settle = seconds{30};
        options.planner.orphan_grace = seconds{60};
        options.workers = 2;
        options.jitter_seed = 1;
        // Lists happen only when a test asks, so each test decides what is listed.
        options.resync_interval = hours{24};
        options.poll_interval = hours{24};
        controller = std::make_unique<executor>(io.get_executor(), provider, store, clock, options,
                                                &observer);
        boost::asio::co_spawn(io, controller->run(), boost::asio::detached);
        controller->mark_synced();
        settle();
    }

    ~executor_test() override {
        controller->stop();
        settle();
    }

    // Replaces the controller with one made from `options`, for tests that
    // change them or restart. The source hands `sessions` over before it
    // reports synced, so the first list comes after them.
    void restart_controller(std::vector<declared_session> sessions = {}) {
        controller->stop();
        settle();
        // The io_context ran out of work, and runs nothing more until restarted.
        io.restart();
        controller = std::make_unique<executor>(io.get_executor(), provider, store, clock, options,
                                                &observer);
        boost::asio::co_spawn(io, controller->run(), boost::asio::detached);
        for (auto& session : sessions) {
            controller->upsert(std::move(session));
        }
        controller->mark_synced();
        settle();
    }

    // Lets the store hand session `name` again under the UID it adopts, as
    // the directory store does when the status file was lost and the token
    // file is still there.
    void readopt_on_request(const std::string& name) {
        store.adoptable.insert("apps/" + name);
        store.on_adopt = [this, name](const crd::object_meta&, const std::string& uid) {
            auto again = make_session(name);
            again.metadata.uid = uid;
            controller->upsert(std::move(again));
        };
    }

    // Runs every handler that is ready, until none is. Bounded, so a busy loop
    // in the executor fails the test instead of hanging it.
    void settle() {
        // One handler at a time, so that a busy loop fails here instead of
        // hanging the test.
        for (int handlers = 0; handlers < 200'000; ++handlers) {
            if (io.poll_one() == 0) {
                return;
            }
        }
        FAIL() << "the executor did not settle";
    }

    void resync() {
        controller->request_resync();
        settle();
    }

    void advance(milliseconds duration) {
        clock.advance(duration);
        settle();
    }

    declared_session make_session(std::string name, int idle_ttl_seconds = 60) {
        declared_session session;
        session.metadata.name = std::move(name);
        session.metadata.namespace_name = "apps";
        session.metadata.uid = "0123abcd-0000-4000-8000-" +
                               std::string(12 - session.metadata.name.size() % 12, '0') +
                               std::to_string(session.metadata.name.size());
        crd::pod_session_spec spec;
        spec.image = "ghcr.io/me/inference:1";
        spec.gpu.types = {"NVIDIA H100 80GB HBM3", "NVIDIA H100 PCIe"};
        spec.ports = {{8000, crd::port_protocol::http}};
        spec.idle_ttl = seconds{idle_ttl_seconds};
        session.spec = spec;
        return session;
    }

    const crd::pod_session_status& status(const std::string& name) {
        return store.statuses.at("apps/" + name);
    }

    std::ptrdiff_t position(std::string_view entry) const {
        const auto found = std::ranges::find(journal, entry);
        return found == journal.end() ? -1 : found - journal.begin();
    }

    boost::asio::io_context io;
    manual_clock clock;
    std::vector<std::string> journal;
    fake_provider provider;
    fake_store store;
    counting_observer observer;
    executor_options options;
    std::unique_ptr<executor> controller;
};

TEST_F(executor_test, persists_status_and_token_before_create) {
    controller->upsert(make_session("a"));
    settle();

    ASSERT_EQ(provider.count("create"), 1u);
    const auto create = position("create NVIDIA H100 80GB HBM3");
    EXPECT_LT(position("status Pending"), position("token"));
    EXPECT_LT(position("token"), position("prepare"));
    EXPECT_LT(position("prepare"), create);
    EXPECT_EQ(status("a").phase, crd::session_phase::provisioning);
    EXPECT_EQ(observer.created, 1);
}

TEST_F(executor_test, injects_session_env_and_token) {
    controller->upsert(make_session("a"));
    settle();
    ASSERT_EQ(provider.requests.size(), 1u);
    const auto& env = provider.requests[0].env;
    const auto value_of = [&](std::string_view name) {
        const auto found =
            std::ranges::find(env, name, &std::pair<std::string, std::string>::first);
        return found == env.end() ? std::string{"<missing>"} : found->second;
    };
    EXPECT_EQ(value_of("PODSESSION_NAMESPACE"), "apps");
    EXPECT_EQ(value_of("PODSESSION_NAME"), "a");
    EXPECT_EQ(value_of("ATLAS_PRESHARED_KEY"), "token-for-a");
    EXPECT_EQ(provider.requests[0].ports, std::vector<std::string>{"8000/http"});
}

TEST_F(executor_test, falls_back_to_next_gpu_on_capacity) {
    provider.create_errors.push_back(fake_provider::error(providers::errc::capacity, 400));
    controller->upsert(make_session("a"));
    settle();
    EXPECT_EQ(provider.count("create NVIDIA H100 80GB HBM3"), 1u);
    EXPECT_EQ(provider.count("create NVIDIA H100 PCIe"), 1u);
    EXPECT_EQ(status("a").gpu_type, "NVIDIA H100 PCIe");
}

TEST_F(executor_test, backs_off_when_no_gpu_has_capacity) {
    provider.create_errors = {fake_provider::error(providers::errc::capacity, 400),
                              fake_provider::error(providers::errc::capacity, 400)};
    controller->upsert(make_session("a"));
    settle();
    EXPECT_EQ(provider.count("create"), 2u);
    ASSERT_NE(status("a").find_condition("ProviderError"), nullptr);
    EXPECT_EQ(status("a").find_condition("ProviderError")->reason, "NoCapacity");

    advance(seconds{3});
    EXPECT_EQ(provider.count("create"), 2u);
    advance(seconds{3});
    EXPECT_EQ(provider.count("create"), 3u);
    EXPECT_EQ(status("a").phase, crd::session_phase::provisioning);
    EXPECT_EQ(status("a").find_condition("ProviderError"), nullptr);
}

TEST_F(executor_test, never_creates_twice_after_unknown_outcome) {
    provider.create_errors.push_back(fake_provider::error(providers::errc::unknown_outcome));
    provider.create_anyway_on_unknown_outcome = true;
    provider.hidden_from_list.insert("pod1");
    controller->upsert(make_session("a"));
    settle();
    EXPECT_EQ(provider.count("create"), 1u);

    // The list does not show the pod yet: no second create within the settle time.
    advance(seconds{10});
    resync();
    EXPECT_EQ(provider.count("create"), 1u);

    provider.hidden_from_list.clear();
    resync();
    EXPECT_EQ(provider.count("create"), 1u);
    EXPECT_EQ(status("a").pod_id, "pod1");
    EXPECT_EQ(provider.pods.size(), 1u);
}

TEST_F(executor_test, creates_again_when_unknown_outcome_made_nothing) {
    provider.create_errors.push_back(fake_provider::error(providers::errc::unknown_outcome));
    controller->upsert(make_session("a"));
    settle();
    advance(seconds{29});
    resync();
    EXPECT_EQ(provider.count("create"), 1u);
    advance(seconds{1});
    EXPECT_EQ(provider.count("create"), 2u);
    EXPECT_EQ(provider.pods.size(), 1u);
}

TEST_F(executor_test, expires_exactly_at_deadline) {
    controller->upsert(make_session("a", 60));
    settle();
    provider.set_status("pod1", crd::pod_status::running);
    resync();
    ASSERT_EQ(status("a").phase, crd::session_phase::running);
    ASSERT_EQ(status("a").expires_at, t0 + seconds{60});

    advance(seconds{60} - milliseconds{1});
    EXPECT_EQ(provider.count("terminate"), 0u);
    advance(milliseconds{1});
    EXPECT_EQ(provider.count("terminate pod1"), 1u);
    EXPECT_EQ(status("a").phase, crd::session_phase::expired);
    EXPECT_TRUE(provider.pods.empty());
    ASSERT_EQ(observer.terminated.size(), 1u);
    EXPECT_EQ(observer.terminated[0], reconcile::termination_reason::idle_timeout);
    EXPECT_TRUE(status("a").terminated_at.has_value());
}

TEST_F(executor_test, confirms_terminate_with_a_get) {
    controller->upsert(make_session("a", 5));
    settle();
    provider.set_status("pod1", crd::pod_status::running);
    resync();
    provider.ignore_terminates = 1;
    advance(seconds{5});
    EXPECT_EQ(provider.count("terminate pod1"), 1u);
    EXPECT_EQ(provider.count("get pod1"), 1u);
    EXPECT_FALSE(status("a").terminated_at.has_value());
    EXPECT_TRUE(observer.terminated.empty());

    advance(seconds{2});
    EXPECT_EQ(provider.count("terminate pod1"), 2u);
    EXPECT_TRUE(status("a").terminated_at.has_value());
    EXPECT_EQ(observer.terminated.size(), 1u);
}

TEST_F(executor_test, retries_failed_terminates_and_counts_them) {
    controller->upsert(make_session("a", 5));
    settle();
    provider.set_status("pod1", crd::pod_status::running);
    resync();
    provider.terminate_errors = {fake_provider::error(providers::errc::transient, 500),
                                 fake_provider::error(providers::errc::transient, 503)};
    advance(seconds{5});
    EXPECT_EQ(observer.terminate_failures, 1);
    for (int second = 0; second < 10 && !provider.pods.empty(); ++second) {
        advance(seconds{1});
    }
    EXPECT_EQ(observer.terminate_failures, 2);
    EXPECT_TRUE(provider.pods.empty());
    EXPECT_EQ(status("a").phase, crd::session_phase::expired);
    EXPECT_TRUE(status("a").terminated_at.has_value());
}

TEST_F(executor_test, stops_creates_while_key_is_rejected) {
    provider.list_errors.push_back(fake_provider::error(providers::errc::unauthorized, 401));
    resync();
    controller->upsert(make_session("a"));
    settle();
    EXPECT_EQ(provider.count("create"), 0u);
    ASSERT_NE(status("a").find_condition("ProviderError"), nullptr);
    EXPECT_NE(status("a").find_condition("ProviderError")->message.find("RUNPOD_API_KEY"),
              std::string::npos);

    resync();
    EXPECT_EQ(provider.count("create"), 1u);
}

TEST_F(executor_test, pauses_writes_after_forbidden_terminate) {
    controller->upsert(make_session("a", 5));
    settle();
    provider.set_status("pod1", crd::pod_status::running);
    resync();
    provider.terminate_errors.push_back(fake_provider::error(providers::errc::forbidden, 403));
    advance(seconds{5});
    EXPECT_EQ(provider.count("terminate pod1"), 1u);

    // A good list does not lift a 403: the key may read but not write.
    resync();
    advance(minutes{4});
    EXPECT_EQ(provider.count("terminate pod1"), 1u);

    advance(minutes{1});
    resync();
    EXPECT_EQ(provider.count("terminate pod1"), 2u);
    EXPECT_TRUE(provider.pods.empty());
}

TEST_F(executor_test, keeps_a_forbidden_pause_through_a_rejected_key) {
    controller->upsert(make_session("a", 5));
    settle();
    provider.set_status("pod1", crd::pod_status::running);
    resync();
    provider.terminate_errors.push_back(fake_provider::error(providers::errc::forbidden, 403));
    advance(seconds{5});
    EXPECT_EQ(provider.count("terminate pod1"), 1u);

    // A 401 and then a good list must not end the 403's five-minute pause.
    provider.list_errors.push_back(fake_provider::error(providers::errc::unauthorized, 401));
    resync();
    resync();
    advance(minutes{4});
    resync();
    EXPECT_EQ(provider.count("terminate pod1"), 1u);

    advance(minutes{1});
    resync();
    EXPECT_EQ(provider.count("terminate pod1"), 2u);
}

TEST_F(executor_test, holds_terminates_while_key_is_rejected) {
    controller->upsert(make_session("a", 5));
    settle();
    provider.set_status("pod1", crd::pod_status::running);
    resync();
    provider.terminate_errors.push_back(fake_provider::error(providers::errc::unauthorized, 401));
    provider.list_errors.push_back(fake_provider::error(providers::errc::unauthorized, 401));
    advance(seconds{5});
    EXPECT_EQ(provider.count("terminate pod1"), 1u);

    // The block holds without a busy loop until a list succeeds, and the
    // terminate goes out as soon as one does.
    resync();
    advance(seconds{30});
    EXPECT_EQ(provider.count("terminate pod1"), 1u);
    resync();
    EXPECT_EQ(provider.count("terminate pod1"), 2u);
    EXPECT_TRUE(provider.pods.empty());
}

TEST_F(executor_test, rereads_the_source_before_an_idle_expiry) {
    controller->upsert(make_session("a", 5));
    settle();
    provider.set_status("pod1", crd::pod_status::running);
    resync();

    // A touch the source has but did not deliver: the expiry reads it.
    store.on_refresh = [&](const crd::object_meta&) {
        auto touched = make_session("a", 5);
        touched.metadata.annotations[std::string{crd::touch_annotation}] =
            crd::format_rfc3339(clock.now());
        controller->upsert(std::move(touched));
    };
    advance(seconds{5});
    EXPECT_EQ(std::ranges::count(store.events, "refresh apps/a"), 1);
    EXPECT_EQ(status("a").phase, crd::session_phase::running);
    EXPECT_EQ(provider.count("terminate"), 0u);

    // Without a newer touch the session expires after the same read.
    store.on_refresh = nullptr;
    advance(seconds{5});
    EXPECT_EQ(status("a").phase, crd::session_phase::expired);
    EXPECT_EQ(provider.count("terminate pod1"), 1u);
    EXPECT_EQ(std::ranges::count(store.events, "refresh apps/a"), 2);
}

TEST_F(executor_test, unclaimable_pod_checked_once_per_poll) {
    // The status names a pod of the session's earlier UID, as after an edit of
    // metadata.uid: a GET finds the pod, and the plan still cannot claim it.
    crd::observed_pod earlier;
    earlier.id = "podX";
    earlier.name = "psn-default-apps-a-ffffffff";
    earlier.status = crd::pod_status::running;
    earlier.created_at = t0 - minutes{5};
    earlier.session_uid = "ffffffff-0000-4000-8000-000000000000";
    provider.pods = {{earlier.id, earlier}};
    provider.hidden_from_list.insert(earlier.id);
    auto session = make_session("a");
    crd::pod_session_status status;
    status.phase = crd::session_phase::running;
    status.pod_id = earlier.id;
    status.pod_name = earlier.name;
    status.created_at = t0 - minutes{5};
    session.status = status;
    controller->upsert(std::move(session));
    settle();
    const auto gets = provider.count("get podX");
    EXPECT_LE(gets, 1u);
    advance(seconds{1});
    EXPECT_EQ(provider.count("get podX"), gets);
    advance(seconds{5});
    EXPECT_LE(provider.count("get podX"), gets + 1);
}

// The pod a session left before its status file was lost: named and
// labelled for the UID that status held, created at `created_at`.
crd::observed_pod pod_of_lost_status(crd::timestamp created_at) {
    const std::string earlier_uid = "feedbeef-0000-4000-8000-000000000001";
    crd::observed_pod earlier;
    earlier.id = "podX";
    earlier.name = reconcile::make_pod_name("default", "apps", "a", earlier_uid);
    earlier.session_uid = earlier_uid;
    earlier.status = crd::pod_status::running;
    earlier.created_at = created_at;
    return earlier;
}

TEST_F(executor_test, lost_status_adopts_pod) {
    // Within the orphan grace, as after a quick restart.
    const auto earlier = pod_of_lost_status(t0);
    provider.pods = {{earlier.id, earlier}};
    resync();

    // The store minted a new UID and still stores the token.
    readopt_on_request("a");
    controller->upsert(make_session("a"));
    settle();
    ASSERT_TRUE(store.adopted_uids.contains("apps/a"));
    EXPECT_EQ(store.adopted_uids.at("apps/a"), *earlier.session_uid);
    EXPECT_EQ(provider.count("create"), 0u);
    EXPECT_EQ(status("a").pod_id, "podX");
    EXPECT_EQ(status("a").phase, crd::session_phase::running);
}

TEST_F(executor_test, lost_status_pod_past_grace_kept) {
    // The session is known before the first list, as after a restart, and its
    // pod is older than the orphan grace, as pods usually are. The list that
    // lets the session adopt the pod must not reap it first.
    const auto earlier = pod_of_lost_status(t0 - std::chrono::hours{3});
    provider.pods = {{earlier.id, earlier}};
    readopt_on_request("a");
    restart_controller({make_session("a")});

    EXPECT_EQ(provider.count("terminate"), 0u);
    EXPECT_EQ(provider.count("create"), 0u);
    ASSERT_TRUE(store.adopted_uids.contains("apps/a"));
    EXPECT_EQ(status("a").pod_id, "podX");
    EXPECT_EQ(status("a").phase, crd::session_phase::running);
}

TEST_F(executor_test, lost_token_creates_new_pod) {
    // Within the orphan grace, as after a quick restart.
    const auto earlier = pod_of_lost_status(t0);
    provider.pods = {{earlier.id, earlier}};
    resync();

    controller->upsert(make_session("a"));
    settle();
    EXPECT_TRUE(store.adopted_uids.empty());
    EXPECT_EQ(provider.count("create"), 1u);
}

TEST_F(executor_test, reaps_orphans_only_after_a_good_list) {
    crd::observed_pod orphan;
    orphan.id = "orphan1";
    orphan.name = "psn-default-apps-gone-0123abcd";
    orphan.status = crd::pod_status::running;
    orphan.created_at = t0 - minutes{5};
    crd::observed_pod foreign = orphan;
    foreign.id = "foreign1";
    foreign.name = "psn-other-apps-gone-0123abcd";
    provider.pods = {{orphan.id, orphan}, {foreign.id, foreign}};

    provider.list_errors.push_back(fake_provider::error(providers::errc::transient, 500));
    resync();
    EXPECT_EQ(provider.count("terminate"), 0u);

    resync();
    EXPECT_EQ(provider.count("terminate orphan1"), 1u);
    EXPECT_EQ(provider.count("terminate foreign1"), 0u);
    ASSERT_EQ(observer.terminated.size(), 1u);
    EXPECT_EQ(observer.terminated[0], reconcile::termination_reason::orphan);
}

TEST_F(executor_test, releases_deleted_session_after_its_pod_is_gone) {
    auto session = make_session("a");
    controller->upsert(session);
    settle();
    session.deleting = true;
    controller->upsert(session);
    settle();
    EXPECT_EQ(provider.count("terminate pod1"), 1u);
    EXPECT_EQ(store.released, std::vector<std::string>{"apps/a"});
    EXPECT_LT(position("terminate pod1"), position("release apps/a"));
    EXPECT_EQ(controller->session_count(), 0u);
}

TEST_F(executor_test, does_not_create_when_status_write_fails) {
    store.fail_status_writes = 1;
    controller->upsert(make_session("a"));
    settle();
    EXPECT_EQ(provider.count("create"), 0u);
    advance(seconds{2});
    EXPECT_EQ(provider.count("create"), 1u);
}

TEST_F(executor_test, keeps_fleet_usage_equal_to_a_full_count) {
    const auto expect_usage = [&](std::string_view step, int pods, double cost_per_hour) {
        SCOPED_TRACE(step);
        const auto incremental = controller->usage();
        const auto counted = controller->count_usage_from_scratch();
        EXPECT_EQ(incremental.pods, counted.pods);
        EXPECT_EQ(incremental.cost_per_hour, counted.cost_per_hour);
        EXPECT_EQ(incremental.pods, pods);
        EXPECT_DOUBLE_EQ(incremental.cost_per_hour, cost_per_hour);
    };

    // Creates: three pods at 1.5 an hour each.
    for (const auto* name : {"a", "b", "c"}) {
        controller->upsert(make_session(name, 3600));
    }
    settle();
    ASSERT_EQ(provider.pods.size(), 3u);
    expect_usage("after creates", 3, 4.5);

    // A list that changes costs and statuses, and shows a new pod of ours (an
    // orphan still within its grace period) and a pod of another controller.
    provider.pods.at("pod1").cost_per_hour = 0.1;
    provider.pods.at("pod2").cost_per_hour = 0.2;
    provider.pods.at("pod3").cost_per_hour = 2.69;
    provider.set_status("pod1", crd::pod_status::running);
    crd::observed_pod orphan;
    orphan.id = "orphan1";
    orphan.name = "psn-default-apps-gone-0123abcd";
    orphan.status = crd::pod_status::running;
    orphan.cost_per_hour = 0.7;
    orphan.created_at = clock.now();
    crd::observed_pod foreign = orphan;
    foreign.id = "foreign1";
    foreign.name = "psn-other-apps-gone-0123abcd";
    provider.pods[orphan.id] = orphan;
    provider.pods[foreign.id] = foreign;
    resync();
    expect_usage("after a list with new pods", 4, 0.1 + 0.2 + 2.69 + 0.7);

    // A new create that the next list does not show yet stays counted.
    controller->upsert(make_session("d", 3600));
    settle();
    ASSERT_TRUE(provider.pods.contains("pod4"));
    provider.hidden_from_list.insert("pod4");
    resync();
    expect_usage("after a list that lags a create", 5, 0.1 + 0.2 + 2.69 + 0.7 + 1.5);
    provider.hidden_from_list.clear();

    // A pod that vanishes from the list is fetched, found gone and no longer counted.
    provider.pods.erase("pod2");
    resync();
    EXPECT_EQ(provider.count("get pod2"), 1u);
    expect_usage("after a pod vanished", 4, 0.1 + 2.69 + 0.7 + 1.5);

    // A pod that exits fails its session, which terminates it.
    provider.pods.at("pod3").status = crd::pod_status::exited;
    provider.pods.at("pod3").cost_per_hour = 0;
    resync();
    EXPECT_EQ(provider.count("terminate pod3"), 1u);
    expect_usage("after a terminate", 3, 0.1 + 0.7 + 1.5);

    // A list older than the terminate shows the pod running: its tombstone
    // keeps it gone.
    crd::observed_pod stale = orphan;
    stale.id = "pod3";
    stale.name = status("c").pod_name;
    stale.cost_per_hour = 5;
    provider.pods[stale.id] = stale;
    resync();
    expect_usage("after a stale list", 3, 0.1 + 0.7 + 1.5);
    provider.pods.erase("pod3");

    // The orphan reaches its grace period and is reaped at the next list; a
    // running pod changes its cost; a pod is reported TERMINATED.
    advance(seconds{61});
    provider.pods.at("pod1").cost_per_hour = 0.3;
    provider.pods.at("pod4").status = crd::pod_status::terminated;
    resync();
    EXPECT_EQ(provider.count("terminate orphan1"), 1u);
    expect_usage("after an orphan reaped", 1, 0.3);

    // Tombstones expire after ten minutes.
    advance(minutes{11});
    resync();
    expect_usage("after tombstones expired", 1, 0.3);
}

TEST_F(executor_test, list_plans_only_sessions_whose_pods_changed) {
    for (const auto* name : {"a", "b", "c"}) {
        controller->upsert(make_session(name, 600));
    }
    settle();
    for (const auto* id : {"pod1", "pod2", "pod3"}) {
        provider.set_status(id, crd::pod_status::running);
    }
    resync();
    ASSERT_EQ(status("a").phase, crd::session_phase::running);
    ASSERT_EQ(status("c").phase, crd::session_phase::running);
    // The next list plans them once more, to see that their plans settled.
    resync();

    const int settled = observer.reconciles;
    resync();
    EXPECT_EQ(observer.reconciles, settled);

    provider.pods.at("pod2").cost_per_hour = 2.5;
    resync();
    EXPECT_EQ(observer.reconciles, settled + 1);
    EXPECT_EQ(status("b").cost_per_hour, 2.5);

    // A second pod under the name of `a` appears in the list.
    crd::observed_pod duplicate = provider.pods.at("pod1");
    duplicate.id = "duplicate1";
    duplicate.created_at = clock.now() + seconds{1};
    provider.pods[duplicate.id] = duplicate;
    resync();
    EXPECT_EQ(provider.count("terminate duplicate1"), 1u);
    EXPECT_EQ(status("a").pod_id, "pod1");

    // A pod that vanished from the list is noticed and fetched.
    provider.pods.erase("pod3");
    resync();
    EXPECT_EQ(provider.count("get pod3"), 1u);
    EXPECT_EQ(status("c").phase, crd::session_phase::failed);

    // Sessions that no list planned again still expire on time.
    advance(seconds{600});
    EXPECT_EQ(provider.count("terminate pod1"), 1u);
    EXPECT_EQ(provider.count("terminate pod2"), 1u);
    EXPECT_EQ(status("a").phase, crd::session_phase::expired);
    EXPECT_EQ(status("b").phase, crd::session_phase::expired);
}

TEST_F(executor_test, list_plans_sessions_held_by_the_budget) {
    options.planner.max_pods = 1;
    restart_controller();
    controller->upsert(make_session("a", 600));
    settle();
    controller->upsert(make_session("b", 600));
    settle();
    ASSERT_EQ(provider.count("create"), 1u);
    ASSERT_NE(status("b").find_condition("BudgetExceeded"), nullptr);
    resync();
    resync();
    EXPECT_EQ(provider.count("create"), 1u);

    // The pod of `a` goes, and `b` gets a pod at the next list.
    auto deleted = make_session("a", 600);
    deleted.deleting = true;
    controller->upsert(deleted);
    settle();
    ASSERT_EQ(store.released, std::vector<std::string>{"apps/a"});
    resync();
    EXPECT_EQ(provider.count("create"), 2u);
    EXPECT_EQ(status("b").phase, crd::session_phase::provisioning);
}

TEST_F(executor_test, keeps_one_pod_under_repeated_events) {
    const auto session = make_session("a");
    for (int i = 0; i < 20; ++i) {
        controller->upsert(session);
        resync();
    }
    EXPECT_EQ(provider.count("create"), 1u);
    EXPECT_EQ(provider.pods.size(), 1u);
}

}  // namespace
}  // namespace podsession::controller
