#include "reconcile/planner.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "crd/status_codec.hpp"
#include "crd/validate.hpp"
#include "reconcile/conditions.hpp"
#include "reconcile/pod_name.hpp"

namespace podsession::reconcile {
namespace {

using crd::observed_pod;
using crd::pod_status;
using crd::session_phase;
using crd::session_reason;

termination_reason termination_reason_for(session_reason reason) {
    switch (reason) {
        case session_reason::idle_timeout:
            return termination_reason::idle_timeout;
        case session_reason::max_lifetime:
            return termination_reason::max_lifetime;
        case session_reason::ready_timeout:
            return termination_reason::ready_timeout;
        case session_reason::deleted:
            return termination_reason::deleted;
        case session_reason::pod_failed:
        case session_reason::provider_rejected:
        case session_reason::none:
            break;
    }
    return termination_reason::pod_failed;
}

bool is_live(const observed_pod& pod) {
    return pod.status != pod_status::terminated;
}

timestamp whole_second_after(timestamp time) {
    return std::chrono::ceil<std::chrono::seconds>(time);
}

bool is_mutating(const action& planned) {
    return std::holds_alternative<create_pod>(planned) ||
           std::holds_alternative<terminate_pod>(planned);
}

void earliest(std::optional<timestamp>& current, timestamp candidate) {
    if (!current || candidate < *current) {
        current = candidate;
    }
}

// The state one plan_session call works on.
class session_planner {
  public:
    session_planner(const session_input& input, std::span<const observed_pod> pods,
                    const provider_state& provider, timestamp now, const settings& config)
        : input_{input},
          session_{*input.session},
          provider_{provider},
          now_{now},
          config_{config},
          key_{crd::session_key(session_.metadata)},
          pod_name_{make_pod_name(config.controller_id, session_.metadata.namespace_name,
                                  session_.metadata.name, session_.metadata.uid)} {
        plan_.status = session_.status;
        plan_.memory = input.memory;
        for (const auto& pod : pods) {
            // A pod whose env names another session is not this session's, even
            // under this name; the orphan rule deals with it.
            if (pod.session_uid && *pod.session_uid != session_.metadata.uid) {
                continue;
            }
            (is_live(pod) ? live_ : gone_).push_back(&pod);
        }
    }

    session_plan plan(fleet_usage& usage) {
        apply_spec_errors();
        if (input_.deleted) {
            plan_deleted();
        } else if (crd::is_terminal(plan_.status.phase)) {
            plan_terminal();
        } else {
            apply_touch();
            plan_live(usage);
        }
        if (input_.has_valid_spec) {
            plan_.status.observed_generation = session_.metadata.generation;
        }
        return std::move(plan_);
    }

  private:
    void add(action planned) {
        if (config_.dry_run && is_mutating(planned)) {
            plan_.skipped.push_back(std::move(planned));
        } else {
            plan_.actions.push_back(std::move(planned));
        }
    }

    void set_ready(bool value, std::string_view reason, std::string_view message) {
        set_condition(plan_.status, condition_ready, value, reason, message, now_);
    }

    bool condition_true(std::string_view type) const {
        const auto* found = session_.status.find_condition(type);
        return found && found->status == "True";
    }

    void apply_spec_errors() {
        if (input_.spec_errors.empty()) {
            remove_condition(plan_.status, condition_spec_invalid);
            return;
        }
        std::string message;
        for (const auto& error : input_.spec_errors) {
            message += message.empty() ? "" : "; ";
            message += error;
        }
        if (!condition_true(condition_spec_invalid) ||
            session_.status.find_condition(condition_spec_invalid)->message != message) {
            plan_.notes.push_back({key_, note_type::warning, "InvalidSpec", message});
        }
        set_condition(plan_.status, condition_spec_invalid, true, "InvalidSpec", message, now_);
    }

    // Terminates every live pod, then releases the session once none is left.
    void plan_deleted() {
        if (plan_.status.phase != session_phase::terminating ||
            plan_.status.reason != session_reason::deleted) {
            plan_.notes.push_back(
                {key_, note_type::normal, "Deleting", "session deleted; terminating its pod"});
        }
        plan_.status.phase = session_phase::terminating;
        plan_.status.reason = session_reason::deleted;
        set_ready(false, "Deleted", "the session was deleted");
        if (terminate_everything(termination_reason::deleted)) {
            add(release_session{key_});
        }
    }

    // Expired and Failed sessions keep their phase; their pods go.
    void plan_terminal() { terminate_everything(termination_reason_for(plan_.status.reason)); }

    // Plans the termination of every pod the session may still have. Returns
    // whether all of them are confirmed gone.
    bool terminate_everything(termination_reason reason) {
        for (const auto* pod : live_) {
            add(terminate_pod{key_, pod->id, pod->name, reason});
        }
        if (!live_.empty() && plan_.status.pod_id.empty()) {
            // Records a pod found only by name (its create returned after the
            // session was deleted). Once lists stop showing it, the terminate
            // then still goes out by id and is confirmed by a GET.
            plan_.status.pod_id = live_.front()->id;
            plan_.status.pod_name = live_.front()->name;
        }
        if (!live_.empty()) {
            return false;
        }
        // A pod the status names but the list does not show may be hidden by
        // listing lag: terminate it by id anyway; the provider answers 404 if it
        // is gone, and the executor confirms with a GET.
        const auto& pod_id = plan_.status.pod_id;
        if (!pod_id.empty() && !plan_.status.terminated_at && !is_confirmed_gone(pod_id)) {
            add(terminate_pod{key_, pod_id, plan_.status.pod_name, reason});
            return false;
        }
        // A create may still be settling: its pod could appear in the list.
        if (pod_id.empty() && plan_.status.create_requested_at && !plan_.memory.create_failed &&
            now_ < *plan_.status.create_requested_at + config_.create_settle) {
            earliest(plan_.wake_at, *plan_.status.create_requested_at + config_.create_settle);
            return false;
        }
        if (!plan_.status.terminated_at && (!pod_id.empty() || plan_.status.create_requested_at)) {
            plan_.status.terminated_at = now_;
        }
        plan_.status.create_requested_at.reset();
        plan_.status.endpoints.clear();
        plan_.status.cost_per_hour.reset();
        plan_.status.expires_at.reset();
        return true;
    }

    bool is_confirmed_gone(std::string_view pod_id) const {
        return std::ranges::any_of(gone_,
                                   [&](const observed_pod* pod) { return pod->id == pod_id; });
    }

    // Reads the touch annotation into `status.lastTouched`. A touch in the future
    // counts as a touch at the time it was first seen, so a wrong clock cannot keep
    // a session alive.
    void apply_touch() {
        const auto& annotations = session_.metadata.annotations;
        const auto found = annotations.find(std::string{crd::touch_annotation});
        if (found == annotations.end()) {
            remove_condition(plan_.status, condition_touch_invalid);
            return;
        }
        const std::string& raw = found->second;
        const auto touched = crd::parse_rfc3339(raw);
        if (!touched) {
            std::string message = "annotation " + std::string{crd::touch_annotation} + " is \"" +
                                  crd::escape_controls(raw.substr(0, 64)) +
                                  "\", not an RFC 3339 time such as 2026-12-04T19:37:02Z; "
                                  "the last valid touch stands";
            if (!condition_true(condition_touch_invalid)) {
                plan_.notes.push_back({key_, note_type::warning, "TouchInvalid", message});
            }
            set_condition(plan_.status, condition_touch_invalid, true, "InvalidTimestamp", message,
                          now_);
            return;
        }
        remove_condition(plan_.status, condition_touch_invalid);

        timestamp accepted = *touched;
        if (plan_.memory.seen_touch == raw && plan_.memory.seen_touch_at) {
            accepted = *plan_.memory.seen_touch_at;
        } else {
            if (*touched > now_) {
                accepted = now_;
                plan_.notes.push_back({key_, note_type::warning, "TouchInFuture",
                                       "touch " + raw + " is later than the controller's clock (" +
                                           crd::format_rfc3339(now_) +
                                           "); counted as a touch now"});
            }
            plan_.memory.seen_touch = raw;
            plan_.memory.seen_touch_at = accepted;
        }
        if (!plan_.status.last_touched || accepted > *plan_.status.last_touched) {
            plan_.status.last_touched = accepted;
        }
    }

    void plan_live(fleet_usage& usage) {
        if (plan_.memory.create_rejected) {
            fail(session_reason::provider_rejected, "ProviderRejected",
                 "RunPod rejected the pod spec: " + *plan_.memory.create_rejected);
            plan_terminal();
            return;
        }
        const observed_pod* kept = choose_pod();
        if (kept) {
            plan_with_pod(*kept);
        } else {
            plan_without_pod(usage);
        }
    }

    // Keeps the oldest RUNNING pod, else the one the status names, else the
    // oldest; terminates the others as duplicates.
    const observed_pod* choose_pod() {
        if (live_.empty()) {
            return nullptr;
        }
        const auto older = [](const observed_pod* a, const observed_pod* b) {
            const auto a_time = a->created_at.value_or(timestamp::max());
            const auto b_time = b->created_at.value_or(timestamp::max());
            return std::tie(a_time, a->id) < std::tie(b_time, b->id);
        };
        std::vector<const observed_pod*> ordered = live_;
        std::ranges::sort(ordered, older);

        const observed_pod* kept = nullptr;
        for (const auto* pod : ordered) {
            if (pod->status == pod_status::running) {
                kept = pod;
                break;
            }
        }
        if (!kept) {
            for (const auto* pod : ordered) {
                if (pod->id == plan_.status.pod_id) {
                    kept = pod;
                }
            }
        }
        if (!kept) {
            kept = ordered.front();
        }
        for (const auto* pod : ordered) {
            if (pod != kept) {
                plan_.notes.push_back(
                    {key_, note_type::warning, "DuplicatePod",
                     "pod " + pod->id + " duplicates pod " + kept->id + "; terminating it"});
                add(terminate_pod{key_, pod->id, pod->name, termination_reason::duplicate});
            }
        }
        return kept;
    }

    void plan_with_pod(const observed_pod& pod) {
        auto& status = plan_.status;
        if (status.pod_id != pod.id) {
            // A pod answering this session's own create request is not news; one
            // found otherwise (after a restart, or a lost status) is.
            if (!status.create_requested_at) {
                plan_.notes.push_back(
                    {key_, note_type::normal, "Adopted",
                     "pod " + pod.id + " (" + pod.gpu_type + ") belongs to this session"});
            }
            status.pod_id = pod.id;
            status.ready_at.reset();
            status.created_at.reset();
        }
        status.pod_name = pod.name;
        status.gpu_type = pod.gpu_type;
        status.cost_per_hour = pod.cost_per_hour;
        status.create_requested_at.reset();
        if (!status.created_at) {
            status.created_at = pod.created_at.value_or(now_);
        }
        remove_condition(status, condition_provider_error);
        remove_condition(status, condition_budget_exceeded);

        switch (pod.status) {
            case pod_status::error:
            case pod_status::exited:
                fail(session_reason::pod_failed, "PodFailed",
                     "pod " + pod.id + " is " + std::string{crd::to_string(pod.status)});
                add(terminate_pod{key_, pod.id, pod.name, termination_reason::pod_failed});
                return;
            case pod_status::running:
                mark_running(pod);
                break;
            case pod_status::provisioning:
            case pod_status::starting:
            case pod_status::unknown:
            case pod_status::terminated:
                status.phase =
                    status.ready_at ? session_phase::running : session_phase::provisioning;
                set_ready(false, "PodStarting",
                          "pod " + pod.id + " is " + std::string{crd::to_string(pod.status)});
                break;
        }
        if (check_deadlines()) {
            add(terminate_pod{key_, pod.id, pod.name, termination_reason_for(status.reason)});
        }
    }

    void mark_running(const observed_pod& pod) {
        auto& status = plan_.status;
        if (!status.ready_at) {
            // The idle clock starts when the controller first sees the pod run, so
            // boot time is not idle time. RunPod's startedAt is not used: for a
            // pod adopted without a status record it may be hours old, and
            // nothing tells when its user last acted, so it gets a full TTL. It
            // is kept to the whole second `readyAt` is published with.
            status.ready_at = std::chrono::floor<std::chrono::seconds>(now_);
            plan_.notes.push_back(
                {key_, note_type::normal, "PodRunning", "pod " + pod.id + " is running"});
        }
        status.phase = session_phase::running;
        status.endpoints = endpoints_of(pod);
        set_ready(true, "PodRunning", "");
    }

    std::vector<crd::endpoint> endpoints_of(const observed_pod& pod) const {
        std::vector<crd::endpoint> endpoints;
        for (const auto& port : session_.spec.ports) {
            crd::endpoint endpoint{port.port, port.protocol, {}};
            if (port.protocol == crd::port_protocol::http) {
                endpoint.url =
                    "https://" + pod.id + "-" + std::to_string(port.port) + ".proxy.runpod.net";
            } else {
                const auto mapped =
                    std::ranges::find_if(pod.ports, [&](const crd::runtime_port& runtime) {
                        return runtime.private_port == port.port && runtime.public_port &&
                               !runtime.ip.empty();
                    });
                if (mapped != pod.ports.end()) {
                    endpoint.url =
                        "tcp://" + mapped->ip + ":" + std::to_string(*mapped->public_port);
                }
            }
            endpoints.push_back(std::move(endpoint));
        }
        return endpoints;
    }

    // Applies the idle, lifetime and ready deadlines. Returns whether the session
    // just reached one and its pod must go.
    bool check_deadlines() {
        auto& status = plan_.status;
        const auto ttl = session_.spec.idle_ttl.value_or(config_.default_idle_ttl);

        // Deadlines are rounded up to whole seconds, the precision `expiresAt`
        // is published with, so the pod never outlives what the status says by
        // more than the timer's latency, nor goes before it.
        std::optional<timestamp> lifetime_end;
        if (session_.spec.max_lifetime && status.created_at) {
            lifetime_end = whole_second_after(*status.created_at + *session_.spec.max_lifetime);
        }
        std::optional<timestamp> idle_end;
        if (status.ready_at) {
            idle_end = whole_second_after(
                std::max(status.last_touched.value_or(*status.ready_at), *status.ready_at) + ttl);
        }

        status.expires_at.reset();
        if (idle_end) {
            earliest(status.expires_at, *idle_end);
        }
        if (lifetime_end) {
            earliest(status.expires_at, *lifetime_end);
        }

        if (lifetime_end && now_ >= *lifetime_end && (!idle_end || *lifetime_end <= *idle_end)) {
            expire(session_reason::max_lifetime, "MaxLifetime",
                   "the pod reached maxLifetimeSeconds");
            return true;
        }
        if (idle_end && now_ >= *idle_end) {
            expire(session_reason::idle_timeout, "IdleTimeout",
                   "no touch for " + std::to_string(ttl.count()) + "s since " +
                       crd::format_rfc3339(*idle_end - ttl));
            return true;
        }
        if (status.expires_at) {
            earliest(plan_.wake_at, *status.expires_at);
        }

        if (!status.ready_at) {
            const auto started = status.created_at ? status.created_at : status.create_requested_at;
            if (started) {
                const auto deadline = whole_second_after(*started + session_.spec.ready_timeout);
                if (now_ >= deadline) {
                    fail(session_reason::ready_timeout, "ReadyTimeout",
                         "the pod did not reach RUNNING within " +
                             std::to_string(session_.spec.ready_timeout.count()) + "s");
                    return true;
                }
                earliest(plan_.wake_at, deadline);
            }
        }
        return false;
    }

    void expire(session_reason reason, std::string_view condition_reason, std::string message) {
        plan_.status.phase = session_phase::expired;
        plan_.status.reason = reason;
        plan_.status.expires_at.reset();
        set_ready(false, condition_reason, message);
        plan_.notes.push_back(
            {key_, note_type::normal, std::string{condition_reason}, std::move(message)});
    }

    void fail(session_reason reason, std::string_view condition_reason, std::string message) {
        plan_.status.phase = session_phase::failed;
        plan_.status.reason = reason;
        plan_.status.expires_at.reset();
        set_ready(false, condition_reason, message);
        plan_.notes.push_back(
            {key_, note_type::warning, std::string{condition_reason}, std::move(message)});
    }

    void plan_without_pod(fleet_usage& usage) {
        auto& status = plan_.status;
        if (!status.pod_id.empty()) {
            if (is_confirmed_gone(status.pod_id)) {
                // A pod gone after one of the session's deadlines went for that
                // deadline: the controller terminated it, and only the status
                // write that said so failed. Otherwise it went away without the
                // controller: someone terminated it in the console, or RunPod did
                // when the balance ran out. A new pod would be a new bill nobody
                // asked for, so the session fails.
                if (!check_deadlines()) {
                    fail(session_reason::pod_failed, "PodGone",
                         "pod " + status.pod_id + " was terminated outside the controller");
                }
                status.terminated_at = now_;
                status.endpoints.clear();
                status.cost_per_hour.reset();
                return;
            }
            add(verify_pod{key_, status.pod_id});
            return;
        }

        if (!input_.has_valid_spec) {
            status.phase = session_phase::pending;
            set_ready(false, "InvalidSpec", "the spec is invalid; see the SpecInvalid condition");
            return;
        }
        status.phase = session_phase::pending;

        if (status.create_requested_at && !plan_.memory.create_failed &&
            now_ < *status.create_requested_at + config_.create_settle) {
            // A create went out and its pod is not listed yet: wait for the listing
            // to catch up before anything that could make a second pod.
            earliest(plan_.wake_at, *status.create_requested_at + config_.create_settle);
            set_ready(false, "Creating", "waiting for the new pod to appear in RunPod's list");
            return;
        }
        if (provider_.block != provider_block::none) {
            if (!condition_true(condition_provider_error)) {
                plan_.notes.push_back(
                    {key_, note_type::warning, "ProviderBlocked", provider_.message});
            }
            set_condition(status, condition_provider_error, true, "ProviderBlocked",
                          provider_.message, now_);
            set_ready(false, "ProviderBlocked", provider_.message);
            return;
        }
        if (plan_.memory.create_backoff_until && now_ < *plan_.memory.create_backoff_until) {
            earliest(plan_.wake_at, *plan_.memory.create_backoff_until);
            if (!plan_.memory.create_failure_message.empty()) {
                set_condition(status, condition_provider_error, true,
                              plan_.memory.create_failure_reason,
                              plan_.memory.create_failure_message, now_);
                set_ready(false, plan_.memory.create_failure_reason,
                          plan_.memory.create_failure_message);
            }
            return;
        }
        if (!plan_.memory.create_failure_message.empty()) {
            set_condition(status, condition_provider_error, true,
                          plan_.memory.create_failure_reason, plan_.memory.create_failure_message,
                          now_);
        }

        const double estimate =
            estimate_cost_per_hour(session_.spec.gpu.types, session_.spec.gpu.count);
        if (const auto refusal = budget_refusal(usage, estimate)) {
            if (!condition_true(condition_budget_exceeded)) {
                plan_.notes.push_back({key_, note_type::warning, "BudgetExceeded", *refusal});
            }
            set_condition(status, condition_budget_exceeded, true, "BudgetExceeded", *refusal,
                          now_);
            set_ready(false, "BudgetExceeded", *refusal);
            return;
        }
        remove_condition(status, condition_budget_exceeded);

        if (config_.dry_run) {
            set_ready(false, "DryRun", "--dry-run is set; no pod is created");
        } else {
            status.create_requested_at = now_;
            status.pod_name = pod_name_;
            plan_.memory.create_failed = false;
            set_ready(false, "Creating", "creating pod " + pod_name_);
        }
        usage.pods += 1;
        usage.cost_per_hour += estimate;
        add(create_pod{key_, pod_name_, session_.spec.gpu.types, estimate});
    }

    std::optional<std::string> budget_refusal(const fleet_usage& usage, double estimate) const {
        if (config_.max_pods && usage.pods + 1 > *config_.max_pods) {
            return "--max-pods " + std::to_string(*config_.max_pods) + " reached (" +
                   std::to_string(usage.pods) + " pods); no new pod until one ends";
        }
        if (config_.max_cost_per_hour &&
            usage.cost_per_hour + estimate > *config_.max_cost_per_hour) {
            return "--max-cost-per-hour " + crd::format_usd(*config_.max_cost_per_hour) +
                   " would be exceeded (" + crd::format_usd(usage.cost_per_hour) + " now, up to " +
                   crd::format_usd(estimate) + " more for this pod); no new pod until spend drops";
        }
        return std::nullopt;
    }

    const session_input& input_;
    const crd::pod_session& session_;
    const provider_state& provider_;
    timestamp now_;
    const settings& config_;
    std::string key_;
    std::string pod_name_;
    std::vector<const observed_pod*> live_;
    std::vector<const observed_pod*> gone_;
    session_plan plan_;
};

struct gpu_price {
    std::string_view id;
    double usd_per_gpu_hour;
};

// On-demand Secure Cloud prices per GPU-hour, rounded up, from RunPod's public
// price list (late 2026). Used only to estimate a new pod for the spend guard.
constexpr std::array<gpu_price, 15> gpu_prices{{
    {"NVIDIA H200", 3.99},
    {"NVIDIA H100 80GB HBM3", 2.99},
    {"NVIDIA H100 PCIe", 2.39},
    {"NVIDIA A100 80GB PCIe", 1.64},
    {"NVIDIA A100-SXM4-40GB", 1.39},
    {"NVIDIA L40S", 0.86},
    {"NVIDIA L40", 0.99},
    {"NVIDIA L4", 0.44},
    {"NVIDIA RTX A6000", 0.49},
    {"NVIDIA RTX A5000", 0.29},
    {"NVIDIA RTX A4000", 0.25},
    {"NVIDIA RTX 6000 Ada Generation", 0.77},
    {"NVIDIA GeForce RTX 4090", 0.69},
    {"NVIDIA GeForce RTX 3090", 0.43},
    {"AMD Instinct MI300X OAM", 2.49},
}};

}  // namespace

std::string_view to_string(termination_reason reason) {
    switch (reason) {
        case termination_reason::idle_timeout:
            return "idle_timeout";
        case termination_reason::max_lifetime:
            return "max_lifetime";
        case termination_reason::ready_timeout:
            return "ready_timeout";
        case termination_reason::pod_failed:
            return "pod_failed";
        case termination_reason::deleted:
            return "deleted";
        case termination_reason::orphan:
            return "orphan";
        case termination_reason::duplicate:
            return "duplicate";
    }
    return "orphan";
}

std::string describe(const action& planned) {
    return std::visit(
        [](const auto& item) -> std::string {
            using type = std::decay_t<decltype(item)>;
            if constexpr (std::is_same_v<type, create_pod>) {
                return "create pod " + item.pod_name;
            } else if constexpr (std::is_same_v<type, terminate_pod>) {
                return "terminate pod " + item.pod_id + " (" + std::string{to_string(item.reason)} +
                       ")";
            } else if constexpr (std::is_same_v<type, verify_pod>) {
                return "verify pod " + item.pod_id;
            } else {
                return "release session " + item.session;
            }
        },
        planned);
}

session_plan plan_session(const session_input& input, std::span<const observed_pod> pods,
                          fleet_usage& usage, const provider_state& provider, timestamp now,
                          const settings& config) {
    return session_planner{input, pods, provider, now, config}.plan(usage);
}

orphan_plan plan_orphans(std::span<const observed_pod> pods,
                         const std::map<std::string, std::string, std::less<>>& claimed,
                         bool list_authoritative, timestamp now, const settings& config) {
    orphan_plan plan;
    if (!list_authoritative) {
        return plan;
    }
    const std::string prefix = pod_name_prefix(config.controller_id);
    for (const auto& pod : pods) {
        if (!pod.name.starts_with(prefix) || !is_live(pod)) {
            continue;
        }
        const auto claim = claimed.find(pod.name);
        const bool claimed_by_session =
            claim != claimed.end() && (!pod.session_uid || *pod.session_uid == claim->second);
        if (claimed_by_session) {
            continue;
        }
        // NOTE: RunPod always returns createdAt; a pod without one is never reaped,
        // because its age cannot be told.
        if (!pod.created_at) {
            continue;
        }
        const auto reap_at = *pod.created_at + config.orphan_grace;
        if (now < reap_at) {
            earliest(plan.wake_at, reap_at);
            continue;
        }
        plan.notes.push_back(
            {"", note_type::warning, "OrphanPod",
             "pod " + pod.id + " (" + pod.name + ") has no session; terminating it"});
        terminate_pod reap{"", pod.id, pod.name, termination_reason::orphan};
        (config.dry_run ? plan.skipped : plan.actions).push_back(std::move(reap));
    }
    return plan;
}

fleet_usage measure_usage(std::span<const observed_pod> pods, const settings& config) {
    const std::string prefix = pod_name_prefix(config.controller_id);
    fleet_usage usage;
    for (const auto& pod : pods) {
        if (pod.name.starts_with(prefix) && is_live(pod)) {
            usage.pods += 1;
            usage.cost_per_hour += pod.cost_per_hour;
        }
    }
    return usage;
}

double estimate_cost_per_hour(std::span<const std::string> gpu_types, int gpu_count) {
    double highest_known = 0;
    for (const auto& price : gpu_prices) {
        highest_known = std::max(highest_known, price.usd_per_gpu_hour);
    }
    double estimate = 0;
    for (const auto& type : gpu_types) {
        const auto found = std::ranges::find(gpu_prices, type, &gpu_price::id);
        estimate =
            std::max(estimate, found == gpu_prices.end() ? highest_known : found->usd_per_gpu_hour);
    }
    return estimate * gpu_count;
}

}  // namespace podsession::reconcile
