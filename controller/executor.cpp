#include "controller/executor.hpp"

#include <algorithm>
#include <cmath>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include "controller/executor_record.hpp"
#include "crd/status_codec.hpp"
#include "reconcile/pod_name.hpp"

namespace podsession::controller {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

// How long a confirmed-gone pod is remembered, so that a list lagging behind a
// terminate does not bring it back.
constexpr auto tombstone_lifetime = std::chrono::minutes{10};

bool same_status(const crd::pod_session_status& a, const crd::pod_session_status& b) {
    return a == b;
}

}  // namespace

executor::executor(asio::any_io_executor io, providers::provider& provider, session_store& store,
                   controller::clock& clock, executor_options options, executor_observer* observer)
    : io_{io},
      provider_{provider},
      store_{store},
      clock_{clock},
      options_{std::move(options)},
      pod_name_prefix_{reconcile::pod_name_prefix(options_.planner.controller_id)},
      observer_{observer ? observer : &null_observer_},
      queue_signal_{io},
      resync_timer_{io},
      workers_done_{io},
      deadline_timer_{clock.make_timer(io)},
      jitter_{options_.jitter_seed} {
    queue_signal_.expires_at(asio::steady_timer::time_point::max());
}

executor::~executor() = default;

void executor::upsert(declared_session declared) {
    const auto key = crd::session_key(declared.metadata);
    auto& slot = sessions_[key];
    if (!slot || slot->session.metadata.uid != declared.metadata.uid) {
        if (slot) {
            // Same name, new UID: a different session. The old one's pod, if any,
            // is an orphan now and goes after the grace period.
            slot->removed = true;
        }
        slot = std::make_shared<record>();
        slot->key = key;
    }
    auto& session = *slot;
    session.session.metadata = std::move(declared.metadata);
    if (declared.spec) {
        session.session.spec = std::move(*declared.spec);
        session.has_valid_spec = !declared.spec_is_recorded;
    }
    if (declared.status && !session.status_loaded) {
        session.session.status = std::move(*declared.status);
        session.status_loaded = true;
    }
    session.errors = std::move(declared.errors);
    session.deleting = declared.deleting;
    session.pod_name = reconcile::make_pod_name(
        options_.planner.controller_id, session.session.metadata.namespace_name,
        session.session.metadata.name, session.session.metadata.uid);
    enqueue(key);
}

void executor::forget(const std::string& key) {
    const auto found = sessions_.find(key);
    if (found != sessions_.end()) {
        found->second->removed = true;
        sessions_.erase(found);
    }
}

void executor::mark_synced() {
    store_synced_ = true;
}

void executor::request_resync() {
    list_no_later_than(std::chrono::steady_clock::now());
}

asio::awaitable<void> executor::run() {
    spdlog::info("executor started controller_id={} workers={} resync_interval_ms={} dry_run={}",
                 options_.planner.controller_id, options_.workers, options_.resync_interval.count(),
                 options_.planner.dry_run);
    for (std::size_t i = 0; i < options_.workers; ++i) {
        ++workers_running_;
        asio::co_spawn(io_, work(), [this](std::exception_ptr failure) {
            if (failure) {
                // A worker only throws on a bug; keep the process alive but say so.
                try {
                    std::rethrow_exception(failure);
                } catch (const std::exception& error) {
                    spdlog::critical("worker failed error={}", log::quote(error.what()));
                }
            }
            if (--workers_running_ == 0) {
                workers_done_.cancel();
            }
        });
    }
    co_await (resync_loop() && deadline_loop());

    // Workers finish the action they are in; nothing outlives `run`.
    while (workers_running_ > 0) {
        workers_done_.expires_at(asio::steady_timer::time_point::max());
        co_await workers_done_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    spdlog::info("executor stopped; pods are left running for the next start to adopt");
}

void executor::stop() {
    stopped_ = true;
    queue_signal_.cancel();
    resync_timer_.cancel();
    deadline_timer_->cancel();
}

void executor::enqueue(const std::string& key) {
    const auto found = sessions_.find(key);
    if (found == sessions_.end()) {
        return;
    }
    auto& session = *found->second;
    if (session.busy) {
        session.dirty = true;
        return;
    }
    if (!session.queued) {
        session.queued = true;
        queue_.push_back(key);
        queue_signal_.cancel_one();
    }
}

void executor::schedule(const std::string& key, crd::timestamp when) {
    const auto found = sessions_.find(key);
    if (found == sessions_.end()) {
        return;
    }
    auto& session = *found->second;
    if (session.wake_at) {
        deadlines_.erase({*session.wake_at, key});
    }
    session.wake_at = when;
    const bool earliest = deadlines_.empty() || when < deadlines_.begin()->first;
    deadlines_.insert({when, key});
    if (earliest) {
        deadline_timer_->expires_at(when);
    }
}

asio::awaitable<void> executor::deadline_loop() {
    while (!stopped_) {
        if (deadlines_.empty()) {
            deadline_timer_->expires_at(clock_.now() + std::chrono::hours{1});
        } else {
            deadline_timer_->expires_at(deadlines_.begin()->first);
        }
        co_await deadline_timer_->wait();
        const auto now = clock_.now();
        while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
            const auto key = deadlines_.begin()->second;
            deadlines_.erase(deadlines_.begin());
            const auto found = sessions_.find(key);
            if (found != sessions_.end()) {
                found->second->wake_at.reset();
                enqueue(key);
            }
        }
    }
}

asio::awaitable<void> executor::work() {
    while (!stopped_) {
        // Nothing is planned before the provider's pods are known, or known to
        // be unknowable (a blocked key): a session whose status was lost, say
        // restored from a backup without it, would create a second pod next to
        // the one it has.
        const bool pods_known =
            listed_once_ || provider_state_.block != reconcile::provider_block::none;
        if (queue_.empty() || !pods_known) {
            // The expiry is set once, in the constructor: setting it here would
            // cancel the other workers' waits and wake them all in turn.
            co_await queue_signal_.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        const auto key = std::move(queue_.front());
        queue_.pop_front();
        const auto found = sessions_.find(key);
        if (found == sessions_.end()) {
            continue;
        }
        const record_ptr session = found->second;
        session->queued = false;
        session->busy = true;
        co_await process(session);
        session->busy = false;
        if (session->dirty && !session->removed) {
            session->dirty = false;
            enqueue(key);
        }
    }
}

std::vector<crd::observed_pod> executor::pods_for(const record& session) const {
    std::vector<crd::observed_pod> pods;
    std::set<std::string> ids;
    if (const auto named = pod_ids_by_name_.find(session.pod_name);
        named != pod_ids_by_name_.end()) {
        ids = named->second;
    }
    if (!session.session.status.pod_id.empty()) {
        ids.insert(session.session.status.pod_id);
    }
    for (const auto& id : ids) {
        if (const auto found = pods_.find(id); found != pods_.end()) {
            pods.push_back(found->second.pod);
        }
    }
    return pods;
}

std::int64_t executor::to_micro_usd(double usd) {
    if (!std::isfinite(usd)) {
        return 0;
    }
    // No pod costs a million dollars an hour, and at that bound the sum over a
    // million pods (10^18 millionths) still fits in 64 bits.
    return std::llround(std::clamp(usd, -1e6, 1e6) * 1e6);
}

void executor::count_pod_usage(const crd::observed_pod& pod, int sign) {
    if (pod.status == crd::pod_status::terminated || !pod.name.starts_with(pod_name_prefix_)) {
        return;
    }
    usage_pods_ += sign;
    usage_micro_usd_ += sign * to_micro_usd(pod.cost_per_hour);
}

bool executor::needs_plan_after_list(const record& session) const {
    if (!session.settled || session.planned_provider != provider_state_) {
        return true;
    }
    // A session without a pod may create one, and whether the budget guards
    // let it depends on the pods of every other session.
    const auto& status = session.session.status;
    if (status.pod_id.empty() && !crd::is_terminal(status.phase)) {
        return true;
    }
    return !same_pods_as_planned(session);
}

bool executor::same_pods_as_planned(const record& session) const {
    // Compares the pods that `pods_for` would return without copying them,
    // because every session is compared after every list.
    const std::set<std::string>* named = nullptr;
    if (const auto found = pod_ids_by_name_.find(session.pod_name);
        found != pod_ids_by_name_.end()) {
        named = &found->second;
    }
    const auto& own_id = session.session.status.pod_id;
    const auto is_named = [&](const std::string& id) { return named && named->contains(id); };

    std::size_t current = 0;
    if (named) {
        current += static_cast<std::size_t>(std::ranges::count_if(
            *named, [&](const std::string& id) { return pods_.contains(id); }));
    }
    if (!own_id.empty() && !is_named(own_id) && pods_.contains(own_id)) {
        current += 1;
    }
    if (current != session.planned_pods.size()) {
        return false;
    }
    // As many pods as planned, and each planned pod is still one of them, unchanged.
    return std::ranges::all_of(session.planned_pods, [&](const crd::observed_pod& pod) {
        if (!is_named(pod.id) && pod.id != own_id) {
            return false;
        }
        const auto found = pods_.find(pod.id);
        return found != pods_.end() && found->second.pod == pod;
    });
}

reconcile::fleet_usage executor::usage() const {
    return {usage_pods_ + creates_in_flight_,
            static_cast<double>(usage_micro_usd_ + create_micro_usd_in_flight_) / 1e6};
}

reconcile::fleet_usage executor::count_usage_from_scratch() const {
    int pods = creates_in_flight_;
    std::int64_t micro_usd = create_micro_usd_in_flight_;
    for (const auto& [id, cached] : pods_) {
        const auto& pod = cached.pod;
        if (pod.status != crd::pod_status::terminated && pod.name.starts_with(pod_name_prefix_)) {
            pods += 1;
            micro_usd += to_micro_usd(pod.cost_per_hour);
        }
    }
    return {pods, static_cast<double>(micro_usd) / 1e6};
}

const crd::observed_pod* executor::find_lost_pod(const record& session) const {
    const auto& status = session.session.status;
    if (!list_authoritative_ || session.deleting || !status.pod_id.empty() ||
        status.create_requested_at || !store_.may_adopt_uid(session.session.metadata)) {
        return nullptr;
    }
    // Rare, so a scan of every pod is fine.
    const auto& metadata = session.session.metadata;
    for (const auto& [id, cached] : pods_) {
        const auto& pod = cached.pod;
        if (pod.status == crd::pod_status::terminated || !pod.session_uid ||
            *pod.session_uid == metadata.uid ||
            pod.name != reconcile::make_pod_name(options_.planner.controller_id,
                                                 metadata.namespace_name, metadata.name,
                                                 *pod.session_uid)) {
            continue;
        }
        const bool held = std::ranges::any_of(sessions_, [&](const auto& entry) {
            return entry.second->session.metadata.uid == *pod.session_uid;
        });
        if (!held) {
            return &pod;
        }
    }
    return nullptr;
}

bool executor::adopt_lost_uid(const record_ptr& session) {
    const auto* pod = find_lost_pod(*session);
    if (pod == nullptr || !store_.adopt_uid(session->session.metadata, *pod->session_uid)) {
        return false;
    }
    spdlog::info("adopting the pod of a session whose status was lost session={} pod={}",
                 session->key, pod->id);
    return true;
}

asio::awaitable<void> executor::process(record_ptr session) {
    const auto started = std::chrono::steady_clock::now();
    const auto now = clock_.now();
    const std::string key = session->key;
    lift_expired_pause(now);

    if (adopt_lost_uid(session)) {
        // The store handed the session again under the pod's UID; that record
        // is queued and plans on its own.
        co_return;
    }

    auto pods = pods_for(*session);
    auto fleet = usage();
    const auto make_plan = [&] {
        const reconcile::session_input input{&session->session, session->deleting, session->errors,
                                             session->has_valid_spec, session->memory};
        return reconcile::plan_session(input, pods, fleet, provider_state_, now, options_.planner);
    };
    auto plan = make_plan();
    if (plan.status.phase == crd::session_phase::expired &&
        plan.status.reason == crd::session_reason::idle_timeout &&
        session->session.status.phase != crd::session_phase::expired) {
        // Read the source once more before a cull: a touch may not have reached
        // the controller yet. The store hands a change to upsert, which updates
        // this record in place.
        co_await store_.refresh(session->session.metadata);
        if (session->removed || stopped_) {
            co_return;
        }
        pods = pods_for(*session);
        fleet = usage();
        plan = make_plan();
    }
    session->planned_pods = std::move(pods);
    session->planned_provider = provider_state_;
    // Until this plan is carried out, a list plans the session again after it.
    session->settled = false;
    const bool memory_changed = !(plan.memory == session->memory);
    session->memory = plan.memory;
    log_notes(plan.notes, session->session.metadata);
    if (!plan.status.pod_id.empty() || plan.status.create_requested_at) {
        store_.describe_token(session->session.metadata, plan.status);
    }

    bool persisted = true;
    const bool status_changed = !same_status(plan.status, session->session.status);
    if (status_changed) {
        const auto previous = session->session.status;
        const auto error = co_await store_.write_status(session->session.metadata, plan.status);
        if (session->removed) {
            co_return;
        }
        if (error) {
            persisted = false;
            if (const auto held = repeats_.admit(key + " status write failed " + error.message(),
                                                 std::chrono::steady_clock::now());
                held >= 0) {
                spdlog::error("status write failed session={} error={} repeats={}", key,
                              log::quote(error.message()), held);
            }
            plan.wake_at = now + options_.retry_backoff_base;
        } else {
            session->session.status = plan.status;
            if (!previous.ready_at && plan.status.ready_at && plan.status.created_at) {
                observer_->pod_ready(plan.status.gpu_type,
                                     std::chrono::duration_cast<std::chrono::milliseconds>(
                                         *plan.status.ready_at - *plan.status.created_at));
            }
            if (previous.phase != plan.status.phase) {
                spdlog::info("session phase changed session={} from={} to={} reason={}", key,
                             crd::to_string(previous.phase), crd::to_string(plan.status.phase),
                             crd::to_string(plan.status.reason).empty()
                                 ? "none"
                                 : crd::to_string(plan.status.reason));
            }
        }
    }

    for (const auto& skipped : plan.skipped) {
        const auto line = key + " " + reconcile::describe(skipped);
        if (const auto held = repeats_.admit(line, std::chrono::steady_clock::now()); held >= 0) {
            spdlog::info("dry run, not acting session={} action={} repeats={}", key,
                         log::quote(reconcile::describe(skipped)), held);
        }
    }

    bool changed = false;
    for (const auto& planned : plan.actions) {
        if (session->removed || stopped_) {
            break;
        }
        if (const auto* create_action = std::get_if<reconcile::create_pod>(&planned)) {
            // The status carrying the create request must be on disk first, or a
            // crash could leave a pod nobody waits for.
            if (persisted) {
                changed |= co_await create(session, *create_action);
            }
        } else if (const auto* terminate_action = std::get_if<reconcile::terminate_pod>(&planned)) {
            changed |= co_await terminate(*terminate_action);
        } else if (const auto* verify_action = std::get_if<reconcile::verify_pod>(&planned)) {
            changed |= co_await verify(session, *verify_action);
        } else if (std::holds_alternative<reconcile::release_session>(planned) && persisted) {
            changed |= co_await release(session);
        }
    }

    const auto duration = std::chrono::steady_clock::now() - started;
    observer_->reconciled(persisted ? "success" : "error", duration);
    if (session->removed) {
        co_return;
    }
    session->settled = persisted && !status_changed && !memory_changed && plan.actions.empty() &&
                       plan.skipped.empty();
    if (changed) {
        session->dirty = true;
    }

    // Retries held back by backoff need a wake-up of their own.
    std::optional<crd::timestamp> wake = plan.wake_at;
    const auto consider = [&](const std::unordered_map<std::string, retry_state>& retries,
                              const std::string& id) {
        if (const auto found = retries.find(id); found != retries.end()) {
            if (!wake || found->second.not_before < *wake) {
                wake = found->second.not_before;
            }
        }
    };
    for (const auto& planned : plan.actions) {
        if (const auto* terminate_action = std::get_if<reconcile::terminate_pod>(&planned)) {
            consider(terminate_retries_, terminate_action->pod_id);
        } else if (const auto* verify_action = std::get_if<reconcile::verify_pod>(&planned)) {
            consider(verify_retries_, verify_action->pod_id);
        }
    }
    if (session->memory.create_backoff_until &&
        (!wake || *session->memory.create_backoff_until < *wake) &&
        *session->memory.create_backoff_until > now) {
        wake = session->memory.create_backoff_until;
    }
    if (wake) {
        schedule(key, *wake);
    }
}

void executor::log_notes(const std::vector<reconcile::note>& notes,
                         const crd::object_meta& metadata) {
    for (const auto& item : notes) {
        store_.record_event(metadata, item);
        if (item.reason == "ProviderBlocked") {
            // `block_provider` logged the cause once for all sessions; a line
            // per session would flood the log when a key fails with thousands.
            spdlog::debug("{} session={} message={}", item.reason, crd::session_key(metadata),
                          log::quote(item.message));
        } else if (item.type == reconcile::note_type::warning) {
            spdlog::warn("{} session={} message={}", item.reason, crd::session_key(metadata),
                         log::quote(item.message));
        } else {
            spdlog::info("{} session={} message={}", item.reason, crd::session_key(metadata),
                         log::quote(item.message));
        }
    }
}

void executor::count_sessions() {
    std::map<crd::session_phase, int> counts;
    for (const auto& [key, session] : sessions_) {
        counts[session->session.status.phase] += 1;
    }
    observer_->sessions_counted(counts);
}

std::chrono::milliseconds executor::backoff(int attempts, std::chrono::milliseconds base,
                                            std::chrono::milliseconds max) {
    const int exponent = std::clamp(attempts, 0, 20);
    auto delay = std::min<std::chrono::milliseconds>(base * (std::int64_t{1} << exponent), max);
    // Up to a fifth of jitter, so that sessions failing together do not retry in step.
    std::uniform_real_distribution<double> spread{0.8, 1.0};
    return std::chrono::milliseconds{
        static_cast<std::int64_t>(static_cast<double>(delay.count()) * spread(jitter_))};
}

}  // namespace podsession::controller
