// The executor's provider-facing half: creates with GPU fallback, terminates
// confirmed by a GET, verifications, releases and the full pod list.
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "controller/executor.hpp"
#include "controller/executor_record.hpp"
#include "controller/pod_request.hpp"
#include "reconcile/pod_name.hpp"

namespace podsession::controller {
namespace {

namespace asio = boost::asio;
using providers::errc;

constexpr auto tombstone_lifetime = std::chrono::minutes{10};

std::string describe_error(const providers::provider_error& error) {
    std::string text = error.message.empty() ? error.code.message() : error.message;
    for (const auto& detail : error.details) {
        text += "; ";
        text += detail;
    }
    return text;
}

// A string, not a view: `message()` returns a temporary.
std::string error_class(const providers::provider_error& error) {
    return error.code.category() == providers::provider_category() ? error.code.message() : "error";
}

}  // namespace

executor::cached_pod& executor::remember_pod(const crd::observed_pod& pod) {
    auto [found, inserted] = pods_.try_emplace(pod.id);
    auto& cached = found->second;
    if (inserted) {
        cached.pod = pod;
        count_pod_usage(pod, 1);
        pod_ids_by_name_[pod.name].insert(pod.id);
    } else if (cached.pod != pod) {
        count_pod_usage(cached.pod, -1);
        if (cached.pod.name != pod.name) {
            forget_pod_name(cached.pod);
            pod_ids_by_name_[pod.name].insert(pod.id);
        }
        cached.pod = pod;
        count_pod_usage(pod, 1);
    }
    if (pod.status == crd::pod_status::terminated) {
        tombstones_[pod.id] = clock_.now();
    } else {
        tombstones_.erase(pod.id);
    }
    return cached;
}

void executor::forget_pod_name(const crd::observed_pod& pod) {
    const auto named = pod_ids_by_name_.find(pod.name);
    if (named != pod_ids_by_name_.end()) {
        named->second.erase(pod.id);
        if (named->second.empty()) {
            pod_ids_by_name_.erase(named);
        }
    }
}

void executor::mark_gone(const std::string& pod_id) {
    auto [found, inserted] = pods_.try_emplace(pod_id);
    auto& pod = found->second.pod;
    if (inserted) {
        pod.id = pod_id;
    }
    // The pod's share goes, and as TERMINATED it has none to add back.
    count_pod_usage(pod, -1);
    pod.status = crd::pod_status::terminated;
    pod.cost_per_hour = 0;
    tombstones_[pod_id] = clock_.now();
    recent_creates_.erase(pod_id);
}

void executor::block_provider(const providers::provider_error& error) {
    const auto now = clock_.now();
    if (!listed_once_ && provider_state_.block == reconcile::provider_block::none) {
        // Workers wait for the first list; a block lets them report it instead.
        queue_signal_.cancel();
    }
    if (error.is(errc::unauthorized)) {
        // Logged once per 401 block; a 401 during a 402 or 403 pause is news.
        if (provider_state_.block != reconcile::provider_block::all_writes ||
            provider_block_until_) {
            spdlog::error(
                "RunPod rejected the API key; stopping every create and terminate until a list "
                "succeeds. Check RUNPOD_API_KEY or --runpod-api-key-file status={} error={}",
                error.http_status, log::quote(describe_error(error)));
        }
        provider_state_ = {reconcile::provider_block::all_writes,
                           "RunPod rejected the API key (HTTP " +
                               std::to_string(error.http_status) +
                               "); check RUNPOD_API_KEY or --runpod-api-key-file"};
        // A pause under way keeps its end: a good list lifts a 401 block, and
        // must not cut short the pause a 402 or 403 asked for.
    } else if (error.is(errc::forbidden)) {
        // A key may list pods but lack the permission to change them, so a good
        // list proves nothing and writes pause for a while instead. The log line
        // repeats at most once a minute, however often the pause recurs.
        if (const auto held =
                repeats_.admit("provider forbidden", std::chrono::steady_clock::now());
            held >= 0) {
            spdlog::error(
                "RunPod denied the API key permission; pausing every create and terminate. Give "
                "the key in RUNPOD_API_KEY or --runpod-api-key-file read and write access to pods "
                "status={} pause_ms={} error={} repeats={}",
                error.http_status, options_.payment_pause.count(),
                log::quote(describe_error(error)), held);
        }
        provider_state_ = {reconcile::provider_block::all_writes,
                           "RunPod denied the API key permission (HTTP 403); give the key in "
                           "RUNPOD_API_KEY or --runpod-api-key-file write access to pods"};
        provider_block_until_ = now + options_.payment_pause;
    } else if (error.is(errc::payment_required)) {
        if (provider_state_.block == reconcile::provider_block::none) {
            spdlog::error(
                "RunPod reports the balance exhausted; stopping creates, terminates go on "
                "pause_ms={}",
                options_.payment_pause.count());
        }
        provider_state_ = {
            reconcile::provider_block::creates,
            "RunPod answered 402 Payment Required: the account balance is exhausted"};
        provider_block_until_ = now + options_.payment_pause;
    }
}

asio::awaitable<bool> executor::create(record_ptr session, const reconcile::create_pod& planned) {
    const auto& metadata = session->session.metadata;
    const auto now = clock_.now();
    auto& memory = session->memory;
    // Every failure but an unknown outcome is definite: no pod was made.
    const auto fail_later = [&](std::string reason, std::string message) {
        memory.create_failed = true;
        memory.create_attempts += 1;
        memory.create_backoff_until =
            now + backoff(memory.create_attempts - 1, options_.create_backoff_base,
                          options_.create_backoff_max);
        memory.create_failure_reason = std::move(reason);
        memory.create_failure_message = std::move(message);
    };

    // The token is stored before the pod exists, so no pod runs with a token
    // that could be lost.
    auto token = co_await store_.ensure_token(metadata);
    if (session->removed) {
        co_return false;
    }
    if (!token) {
        spdlog::error("cannot store session token; not creating session={} error={}",
                      planned.session, log::quote(token.error().message()));
        fail_later("TokenStoreFailed",
                   "the session token could not be stored: " + token.error().message());
        co_return true;
    }
    if (const auto error = co_await store_.prepare_create(metadata); error) {
        spdlog::error("cannot prepare session for a pod; not creating session={} error={}",
                      planned.session, log::quote(error.message()));
        fail_later("PrepareFailed", "the session could not be prepared: " + error.message());
        co_return true;
    }
    if (session->removed || stopped_) {
        co_return false;
    }

    creates_in_flight_ += 1;
    create_micro_usd_in_flight_ += to_micro_usd(planned.estimated_cost_per_hour);
    struct in_flight_guard {
        executor& self;
        std::int64_t micro_usd;
        ~in_flight_guard() {
            self.creates_in_flight_ -= 1;
            self.create_micro_usd_in_flight_ -= micro_usd;
        }
    } guard{*this, to_micro_usd(planned.estimated_cost_per_hour)};

    std::string capacity_details;
    for (const auto& gpu_type : planned.gpu_types) {
        const auto request =
            make_create_request(session->session, planned.pod_name, gpu_type, *token);
        auto created = co_await provider_.create_pod(request);
        if (created) {
            remember_pod(*created);
            recent_creates_[created->id] = clock_.now();
            // The pod boots now: look for RUNNING at the poll interval, not the resync one.
            list_no_later_than(std::chrono::steady_clock::now() +
                               std::min(options_.poll_interval, options_.resync_interval));
            observer_->pod_created(created->gpu_type);
            memory.create_attempts = 0;
            memory.create_backoff_until.reset();
            memory.create_failure_reason.clear();
            memory.create_failure_message.clear();
            spdlog::info("created pod session={} pod={} name={} gpu={} cost_per_hour={}",
                         planned.session, created->id, planned.pod_name,
                         log::quote(created->gpu_type), created->cost_per_hour);
            co_return true;
        }

        const auto& error = created.error();
        if (error.is(errc::capacity)) {
            spdlog::info("no capacity, trying the next GPU type session={} gpu={} detail={}",
                         planned.session, log::quote(gpu_type), log::quote(describe_error(error)));
            capacity_details = describe_error(error);
            continue;
        }
        if (error.is(errc::unknown_outcome)) {
            // The pod may exist. The persisted create request makes the next plans
            // wait for the list instead of creating a second pod.
            spdlog::warn(
                "create outcome unknown; listing before any new create session={} gpu={} error={}",
                planned.session, log::quote(gpu_type), log::quote(describe_error(error)));
            request_resync();
            co_return true;
        }
        if (error.is(errc::invalid_request)) {
            spdlog::error("RunPod rejected the pod spec session={} gpu={} error={}",
                          planned.session, log::quote(gpu_type), log::quote(describe_error(error)));
            memory.create_rejected = describe_error(error);
            memory.create_failed = true;
            co_return true;
        }
        if (error.is(errc::unauthorized) || error.is(errc::forbidden) ||
            error.is(errc::payment_required)) {
            block_provider(error);
            memory.create_failed = true;
            co_return true;
        }
        if (error.is(errc::rate_limited)) {
            const auto wait = error.retry_after.value_or(options_.create_backoff_base);
            memory.create_backoff_until = now + wait;
            memory.create_failed = true;
            memory.create_failure_reason = "RateLimited";
            memory.create_failure_message = "RunPod rate-limited the create; retrying after " +
                                            std::to_string(wait.count()) + " ms";
            spdlog::warn("create rate limited session={} retry_after_ms={}", planned.session,
                         wait.count());
            co_return true;
        }
        spdlog::warn("create failed, backing off session={} gpu={} class={} error={}",
                     planned.session, log::quote(gpu_type), error_class(error),
                     log::quote(describe_error(error)));
        fail_later("ProviderError", "RunPod create failed: " + describe_error(error));
        co_return true;
    }

    std::string types;
    for (const auto& gpu_type : planned.gpu_types) {
        types += types.empty() ? "" : ", ";
        types += gpu_type;
    }
    spdlog::warn("no capacity for any GPU type, backing off session={} gpus={} detail={}",
                 planned.session, log::quote(types), log::quote(capacity_details));
    fail_later("NoCapacity", "no capacity for " + types + ": " + capacity_details);
    co_return true;
}

asio::awaitable<bool> executor::terminate(const reconcile::terminate_pod& planned) {
    const auto now = clock_.now();
    auto& retry = terminate_retries_[planned.pod_id];
    if (provider_state_.block == reconcile::provider_block::all_writes) {
        // Every list plans again a session whose last plan had an action, so
        // the list that lifts the block sends this terminate. Until then the
        // session must not wake for a retry that cannot go out.
        retry.not_before = std::max(retry.not_before,
                                    provider_block_until_.value_or(now + options_.resync_interval));
        co_return false;
    }
    if (now < retry.not_before) {
        co_return false;
    }
    const auto retry_later = [&] {
        auto& state = terminate_retries_[planned.pod_id];
        state.not_before = clock_.now() + backoff(state.attempts, options_.retry_backoff_base,
                                                  options_.retry_backoff_max);
        state.attempts += 1;
    };

    const auto deleted = co_await provider_.terminate_pod(planned.pod_id);
    if (!deleted && !deleted.error().is(errc::not_found)) {
        observer_->terminate_failed();
        if (deleted.error().is(errc::unauthorized) || deleted.error().is(errc::forbidden)) {
            block_provider(deleted.error());
        }
        spdlog::warn("terminate failed, retrying session={} pod={} reason={} attempt={} error={}",
                     planned.session.empty() ? "none" : planned.session, planned.pod_id,
                     reconcile::to_string(planned.reason),
                     terminate_retries_[planned.pod_id].attempts + 1,
                     log::quote(describe_error(deleted.error())));
        retry_later();
        co_return false;
    }

    // A DELETE can answer success and do nothing: only a GET that finds the pod
    // gone confirms it.
    const auto fetched = co_await provider_.get_pod(planned.pod_id);
    const bool gone = (!fetched && fetched.error().is(errc::not_found)) ||
                      (fetched && fetched->status == crd::pod_status::terminated);
    if (!gone) {
        if (fetched) {
            remember_pod(*fetched);
        }
        spdlog::info("terminate not confirmed yet, retrying session={} pod={} status={}",
                     planned.session.empty() ? "none" : planned.session, planned.pod_id,
                     fetched ? crd::to_string(fetched->status) : error_class(fetched.error()));
        retry_later();
        co_return false;
    }

    mark_gone(planned.pod_id);
    terminate_retries_.erase(planned.pod_id);
    if (counted_terminations_.insert(planned.pod_id).second) {
        observer_->pod_terminated(planned.reason);
    }
    spdlog::info("terminated pod session={} pod={} name={} reason={}",
                 planned.session.empty() ? "none" : planned.session, planned.pod_id,
                 planned.pod_name, reconcile::to_string(planned.reason));
    co_return true;
}

asio::awaitable<bool> executor::verify(record_ptr /*session*/,
                                       const reconcile::verify_pod& planned) {
    auto& retry = verify_retries_[planned.pod_id];
    if (clock_.now() < retry.not_before) {
        co_return false;
    }
    const auto fetched = co_await provider_.get_pod(planned.pod_id);
    if (fetched) {
        remember_pod(*fetched);
        // Found: the plan can now see the pod. Should it still ask for the
        // check (a pod the session cannot claim), the next GET waits a poll
        // interval, so no plan can loop on GETs and spend the rate limit.
        auto& state = verify_retries_[planned.pod_id];
        state.not_before = clock_.now() + options_.poll_interval;
        state.attempts = 0;
        co_return true;
    }
    if (fetched.error().is(errc::not_found)) {
        spdlog::info("pod not found at the provider session={} pod={}", planned.session,
                     planned.pod_id);
        mark_gone(planned.pod_id);
        verify_retries_.erase(planned.pod_id);
        co_return true;
    }
    auto& state = verify_retries_[planned.pod_id];
    state.not_before = clock_.now() + backoff(state.attempts, options_.retry_backoff_base,
                                              options_.retry_backoff_max);
    state.attempts += 1;
    spdlog::warn("cannot fetch pod, retrying session={} pod={} error={}", planned.session,
                 planned.pod_id, log::quote(describe_error(fetched.error())));
    co_return false;
}

asio::awaitable<bool> executor::release(record_ptr session) {
    const auto metadata = session->session.metadata;
    const auto error = co_await store_.release(metadata);
    if (error) {
        spdlog::error("cannot release deleted session, retrying session={} error={}", session->key,
                      log::quote(error.message()));
        schedule(session->key, clock_.now() + options_.retry_backoff_base);
        co_return false;
    }
    spdlog::info("session released session={} uid={}", session->key, metadata.uid);
    const auto found = sessions_.find(session->key);
    // The store may have declared a new session under the same name meanwhile.
    if (found != sessions_.end() && found->second == session) {
        if (session->wake_at) {
            deadlines_.erase({*session->wake_at, session->key});
        }
        sessions_.erase(found);
    }
    session->removed = true;
    co_return false;
}

asio::awaitable<void> executor::resync_loop() {
    while (!stopped_) {
        co_await list_pods();
        if (stopped_) {
            break;
        }
        const bool booting = std::ranges::any_of(sessions_, [](const auto& entry) {
            const auto& status = entry.second->session.status;
            return status.phase == crd::session_phase::provisioning ||
                   (status.phase == crd::session_phase::pending && status.create_requested_at);
        });
        next_list_at_ = std::chrono::steady_clock::now() +
                        (booting ? std::min(options_.poll_interval, options_.resync_interval)
                                 : options_.resync_interval);
        // A pod that starts booting or a requested resync moves the next list
        // earlier and cancels the wait, which then waits for the new time.
        while (!stopped_ && std::chrono::steady_clock::now() < next_list_at_) {
            resync_timer_.expires_at(next_list_at_);
            co_await resync_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
        }
    }
}

void executor::lift_expired_pause(crd::timestamp now) {
    if (provider_block_until_ && now >= *provider_block_until_) {
        spdlog::info("pause after a 402 or 403 over; trying creates and terminates again");
        resume_writes(now);
    }
}

void executor::resume_writes(crd::timestamp now) {
    provider_state_ = {};
    provider_block_until_.reset();
    // Terminates held by the block go out at the next plan, not a backoff later.
    for (auto& [id, retry] : terminate_retries_) {
        retry.not_before = std::min(retry.not_before, now);
    }
}

void executor::list_no_later_than(std::chrono::steady_clock::time_point when) {
    if (when < next_list_at_) {
        next_list_at_ = when;
        resync_timer_.cancel();
    }
}

void executor::refresh_pods(const std::vector<crd::observed_pod>& listed, crd::timestamp now) {
    // The cache becomes the list, but keeps pods created since the previous
    // list that it does not show yet, and tombstones of pods confirmed gone.
    // It is updated in place, so that a pod the list shows unchanged costs no
    // allocation.
    const std::uint64_t list_number = ++lists_done_;
    for (const auto& pod : listed) {
        recent_creates_.erase(pod.id);
        if (tombstones_.contains(pod.id) && pod.status != crd::pod_status::terminated) {
            // A list older than our confirmation: the pod is gone.
            continue;
        }
        remember_pod(pod).listed_in = list_number;
    }
    std::erase_if(recent_creates_, [&](const auto& entry) {
        const bool expired = now - entry.second > options_.planner.create_settle;
        if (!expired) {
            if (const auto found = pods_.find(entry.first); found != pods_.end()) {
                remember_pod(found->second.pod).listed_in = list_number;
            }
        }
        return expired;
    });
    std::erase_if(pods_, [&](const auto& entry) {
        const auto& [id, cached] = entry;
        if (cached.listed_in == list_number) {
            return false;
        }
        count_pod_usage(cached.pod, -1);
        forget_pod_name(cached.pod);
        return true;
    });

    std::erase_if(tombstones_,
                  [&](const auto& entry) { return now - entry.second > tombstone_lifetime; });
    for (const auto& [id, when] : tombstones_) {
        if (!pods_.contains(id)) {
            mark_gone(id);
            tombstones_[id] = when;
        }
    }
}

asio::awaitable<void> executor::list_pods() {
    auto listed = co_await provider_.list_pods();
    if (stopped_) {
        co_return;
    }
    const auto now = clock_.now();
    if (!listed) {
        list_authoritative_ = false;
        const auto& error = listed.error();
        if (error.is(errc::unauthorized) || error.is(errc::forbidden)) {
            block_provider(error);
        } else if (const auto held =
                       repeats_.admit("list failed", std::chrono::steady_clock::now());
                   held >= 0) {
            spdlog::error(
                "listing pods failed; reaping nothing until a list succeeds class={} error={} "
                "repeats={}",
                error_class(error), log::quote(describe_error(error)), held);
        }
        co_return;
    }

    if (provider_state_.block == reconcile::provider_block::all_writes && !provider_block_until_) {
        spdlog::info("RunPod accepts the API key again; resuming creates and terminates");
        resume_writes(now);
    } else {
        lift_expired_pause(now);
    }

    refresh_pods(*listed, now);
    list_authoritative_ = true;
    if (!listed_once_) {
        listed_once_ = true;
        // Wake every worker waiting for the first list.
        queue_signal_.cancel();
    }
    observer_->pods_listed(*listed, now);

    // Until the source has listed every session, every pod would look
    // unclaimed, and a restart would reap the pods of all live sessions.
    if (store_synced_) {
        co_await reap_orphans(now);
    }

    for (const auto& [key, session] : sessions_) {
        if (needs_plan_after_list(*session)) {
            enqueue(key);
        }
    }
    count_sessions();
}

asio::awaitable<void> executor::reap_orphans(crd::timestamp now) {
    // Orphans: pods of ours that no session claims.
    std::map<std::string, std::string, std::less<>> claimed;
    for (const auto& [key, session] : sessions_) {
        claimed[session->pod_name] = session->session.metadata.uid;
        // A session whose status was lost adopts its old pod once its worker
        // runs, after this plan: that pod is claimed already, or it would be
        // reaped as an orphan under its user.
        if (const auto* lost = find_lost_pod(*session)) {
            claimed[lost->name] = *lost->session_uid;
        }
    }
    std::vector<crd::observed_pod> all;
    all.reserve(pods_.size());
    for (const auto& [id, cached] : pods_) {
        all.push_back(cached.pod);
    }
    const auto orphans =
        reconcile::plan_orphans(all, claimed, list_authoritative_, now, options_.planner);
    for (const auto& item : orphans.notes) {
        spdlog::warn("{} message={}", item.reason, log::quote(item.message));
    }
    for (const auto& skipped : orphans.skipped) {
        spdlog::info("dry run, not acting action={}", log::quote(reconcile::describe(skipped)));
    }
    for (const auto& planned : orphans.actions) {
        co_await terminate(std::get<reconcile::terminate_pod>(planned));
    }
}

}  // namespace podsession::controller
