#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <unordered_map>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "controller/clock.hpp"
#include "controller/log.hpp"
#include "controller/session_store.hpp"
#include "providers/provider.hpp"
#include "reconcile/planner.hpp"

namespace podsession::controller {

struct executor_options {
    reconcile::settings planner;
    // Sessions planned and acted on at the same time; bounds provider calls too.
    std::size_t workers = 16;
    // How often the provider's pod list is read in full. After each list, the
    // sessions whose pods or inputs changed are planned again.
    std::chrono::milliseconds resync_interval{std::chrono::seconds{30}};
    // The list interval while some pod is booting, so that RUNNING is noticed
    // soon after it happens.
    std::chrono::milliseconds poll_interval{std::chrono::seconds{5}};
    std::chrono::milliseconds create_backoff_base{std::chrono::seconds{5}};
    std::chrono::milliseconds create_backoff_max{std::chrono::minutes{5}};
    std::chrono::milliseconds retry_backoff_base{std::chrono::seconds{1}};
    std::chrono::milliseconds retry_backoff_max{std::chrono::minutes{2}};
    // How long creates stop after RunPod answers 402 Payment Required before one
    // is tried again.
    std::chrono::milliseconds payment_pause{std::chrono::minutes{5}};
    // Seed of the backoff jitter.
    std::uint64_t jitter_seed = std::random_device{}();
};

// Counts and events the executor reports; the metrics registry implements it.
class executor_observer {
  public:
    virtual ~executor_observer() = default;
    virtual void pod_created(const std::string& /*gpu_type*/) {}
    virtual void pod_terminated(reconcile::termination_reason /*reason*/) {}
    virtual void terminate_failed() {}
    virtual void pod_ready(const std::string& /*gpu_type*/,
                           std::chrono::milliseconds /*time_to_ready*/) {}
    virtual void reconciled(std::string_view /*result*/, std::chrono::nanoseconds /*duration*/) {}
    virtual void pods_listed(const std::vector<crd::observed_pod>& /*pods*/,
                             crd::timestamp /*now*/) {}
    virtual void sessions_counted(const std::map<crd::session_phase, int>& /*counts*/) {}
};

// Applies plans: keeps the sessions a store declares and the pods the provider
// lists, plans each session when it changes, when its deadline comes and after
// a full list that changes what its plan reads, and carries out the actions
// with bounded concurrency.
// Single-threaded: everything runs on one executor.
class executor final : public session_sink {
  public:
    executor(boost::asio::any_io_executor io, providers::provider& provider, session_store& store,
             controller::clock& clock, executor_options options,
             executor_observer* observer = nullptr);
    ~executor() override;

    void upsert(declared_session session) override;
    void forget(const std::string& key) override;
    void mark_synced() override;

    // Runs the workers, the resync loop and the deadline timer until `stop`.
    [[nodiscard]] boost::asio::awaitable<void> run();

    // Stops acting. Pods are left running: a restart adopts them.
    void stop();

    // The store has delivered its sessions and a pod list has succeeded.
    [[nodiscard]] bool ready() const { return store_synced_ && listed_once_; }

    // Asks for a full pod list now instead of at the next interval.
    void request_resync();

    [[nodiscard]] std::size_t session_count() const { return sessions_.size(); }

    // What the budget guards count: the pods of this controller that are not
    // TERMINATED, their cost per hour, and the creates in flight at their
    // estimate. Kept up to date as pods change, so planning a session does not
    // scan every pod.
    [[nodiscard]] reconcile::fleet_usage usage() const;
    // The same figure counted again from every known pod, for tests that check
    // `usage()` against it.
    [[nodiscard]] reconcile::fleet_usage count_usage_from_scratch() const;

  private:
    struct record;
    using record_ptr = std::shared_ptr<record>;

    boost::asio::awaitable<void> work();
    boost::asio::awaitable<void> resync_loop();
    boost::asio::awaitable<void> deadline_loop();

    void enqueue(const std::string& key);
    void schedule(const std::string& key, crd::timestamp when);
    boost::asio::awaitable<void> process(record_ptr session);

    boost::asio::awaitable<bool> create(record_ptr session, const reconcile::create_pod& planned);
    boost::asio::awaitable<bool> terminate(const reconcile::terminate_pod& planned);
    boost::asio::awaitable<bool> verify(record_ptr session, const reconcile::verify_pod& planned);
    boost::asio::awaitable<bool> release(record_ptr session);
    boost::asio::awaitable<void> list_pods();
    // Terminates the pods of ours that no session claims, once past the grace.
    boost::asio::awaitable<void> reap_orphans(crd::timestamp now);
    // Finds the pod a session whose status was lost left behind: a live pod of
    // ours named for its namespace and name under a UID no session holds.
    // Null when there is none or the store cannot hand the session that UID.
    [[nodiscard]] const crd::observed_pod* find_lost_pod(const record& session) const;
    // Gives a session whose status was lost the UID of the pod it left, so it
    // adopts that pod instead of creating a second one.
    bool adopt_lost_uid(const record_ptr& session);
    // Ends a 402 or 403 pause whose time is up; a 401 block waits for a good list.
    void lift_expired_pause(crd::timestamp now);
    void resume_writes(crd::timestamp now);
    // Moves the next full pod list to `when` if that is earlier.
    void list_no_later_than(std::chrono::steady_clock::time_point when);

    // A pod in `pods_`, with the number of the last list that showed it.
    struct cached_pod {
        crd::observed_pod pod;
        std::uint64_t listed_in = 0;
    };

    std::vector<crd::observed_pod> pods_for(const record& session) const;
    // Returns whether a plan now could differ from the session's last one for
    // a reason that a list brings: its pods, the provider's state, the fleet
    // usage. Time is not one, because a plan that waits for a time returns a
    // `wake_at`, which becomes a timer.
    [[nodiscard]] bool needs_plan_after_list(const record& session) const;
    // Returns whether `pods_for(session)` would return the pods of its last plan.
    [[nodiscard]] bool same_pods_as_planned(const record& session) const;
    // Stores `pod` in the cache, leaving an equal entry as it is, and returns
    // its entry.
    cached_pod& remember_pod(const crd::observed_pod& pod);
    // Removes the pod from `pod_ids_by_name_`.
    void forget_pod_name(const crd::observed_pod& pod);
    // Applies what a successful list shows to the cache, in place.
    void refresh_pods(const std::vector<crd::observed_pod>& listed, crd::timestamp now);
    // Adds (`sign` 1) or removes (`sign` -1) a cached pod's share of
    // `usage_pods_` and `usage_micro_usd_`.
    void count_pod_usage(const crd::observed_pod& pod, int sign);
    // Converts dollars an hour to millionths of a dollar an hour, and a cost
    // that is not a finite number to 0.
    static std::int64_t to_micro_usd(double usd);
    void mark_gone(const std::string& pod_id);
    void block_provider(const providers::provider_error& error);
    std::chrono::milliseconds backoff(int attempts, std::chrono::milliseconds base,
                                      std::chrono::milliseconds max);
    void log_notes(const std::vector<reconcile::note>& notes, const crd::object_meta& metadata);
    void count_sessions();

    boost::asio::any_io_executor io_;
    providers::provider& provider_;
    session_store& store_;
    controller::clock& clock_;
    executor_options options_;
    // `psn-<controller_id>-`, the name prefix of this controller's pods.
    std::string pod_name_prefix_;
    executor_observer* observer_;
    executor_observer null_observer_;

    std::map<std::string, record_ptr, std::less<>> sessions_;
    std::deque<std::string> queue_;
    boost::asio::steady_timer queue_signal_;
    boost::asio::steady_timer resync_timer_;
    std::chrono::steady_clock::time_point next_list_at_ =
        std::chrono::steady_clock::time_point::max();
    boost::asio::steady_timer workers_done_;
    std::size_t workers_running_ = 0;
    std::unique_ptr<deadline_timer> deadline_timer_;
    std::set<std::pair<crd::timestamp, std::string>> deadlines_;

    // The provider's pods as last listed, updated by every call's answer.
    std::unordered_map<std::string, cached_pod> pods_;
    std::uint64_t lists_done_ = 0;
    // The live pods of this controller in `pods_` and their cost in millionths
    // of a dollar an hour: integers, so that removing a pod takes away exactly
    // what adding it put in.
    int usage_pods_ = 0;
    std::int64_t usage_micro_usd_ = 0;
    std::unordered_map<std::string, std::set<std::string>> pod_ids_by_name_;
    // Pods created since the last list, kept until the list shows them, because
    // the provider's list lags new pods.
    std::unordered_map<std::string, crd::timestamp> recent_creates_;
    // When each confirmed-gone pod was confirmed, so tombstones can expire.
    std::unordered_map<std::string, crd::timestamp> tombstones_;
    bool list_authoritative_ = false;

    struct retry_state {
        int attempts = 0;
        crd::timestamp not_before{};
    };
    std::unordered_map<std::string, retry_state> terminate_retries_;
    std::unordered_map<std::string, retry_state> verify_retries_;
    std::set<std::string> counted_terminations_;

    reconcile::provider_state provider_state_;
    std::optional<crd::timestamp> provider_block_until_;
    int creates_in_flight_ = 0;
    std::int64_t create_micro_usd_in_flight_ = 0;

    bool store_synced_ = false;
    bool listed_once_ = false;
    bool stopped_ = false;
    std::mt19937_64 jitter_;
    log::repeat_limiter repeats_{std::chrono::seconds{60}};
};

}  // namespace podsession::controller
