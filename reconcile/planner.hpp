#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "crd/observed_pod.hpp"
#include "crd/pod_session.hpp"

// The planner: a pure function from desired sessions, observed pods and the
// current time to the actions and status changes that converge them. It does no
// I/O and reads no clock, so every rule is testable as a table.
namespace podsession::reconcile {

using crd::timestamp;

struct settings {
    // 1..16 of [a-z0-9]; pods are named `psn-<controller_id>-...`.
    std::string controller_id = "default";
    std::chrono::seconds default_idle_ttl{900};
    // Age a pod of ours must reach before it is reaped as an orphan. Covers the
    // gap between a create and the status write that records it.
    std::chrono::seconds orphan_grace{600};
    // How long a create that got no answer (or whose pod the list does not show
    // yet) is given to appear in the provider's list before the session may be
    // created again. RunPod's list lags new pods by some seconds.
    std::chrono::seconds create_settle{60};
    std::optional<int> max_pods;
    std::optional<double> max_cost_per_hour;
    bool dry_run = false;
};

// Why a pod is terminated; the values are the `reason` label of
// `podsession_pods_terminated_total`.
enum class termination_reason {
    idle_timeout,
    max_lifetime,
    ready_timeout,
    pod_failed,
    deleted,
    orphan,
    duplicate
};

[[nodiscard]] std::string_view to_string(termination_reason reason);

// A provider-wide stop on writes, decided by the executor from error classes.
enum class provider_block {
    none,
    // The account cannot pay (402): no creates, terminates go on.
    creates,
    // The key is invalid or lacks permission (401/403): nothing goes on.
    all_writes,
};

struct provider_state {
    provider_block block = provider_block::none;
    // Why, for the session condition. Safe to publish.
    std::string message;

    bool operator==(const provider_state&) const = default;
};

// What the executor remembers about a session between plans. Not persisted: a
// restart starts from an empty memory and the persisted status.
struct session_memory {
    // No create before this time (backoff after a failed create).
    std::optional<timestamp> create_backoff_until;
    // Failed creates in a row, for the backoff's growth.
    int create_attempts = 0;
    // The last create request got a definite failure, so no pod can be waiting
    // to appear in the list and the create settle time does not apply.
    bool create_failed = false;
    // The last create failure that is worth retrying (capacity, transient,
    // rate limit), for the ProviderError condition. Empty when none.
    std::string create_failure_reason;
    std::string create_failure_message;
    // Set when the provider rejected the spec (422): the session fails.
    std::optional<std::string> create_rejected;
    // The raw touch annotation last seen and the time it was accepted as, so
    // that a touch in the future counts once, at the time it was first seen.
    std::string seen_touch;
    std::optional<timestamp> seen_touch_at;

    bool operator==(const session_memory&) const = default;
};

struct session_input {
    // The session with its last valid spec and its persisted status. Never null.
    const crd::pod_session* session = nullptr;
    // Set when the session has been deleted (deletionTimestamp in Kubernetes, the
    // file gone in directory mode) and waits for its pod to be confirmed gone.
    bool deleted = false;
    // Validation errors of the current spec. The session keeps running on its last
    // valid spec; a session that never had one carries an empty spec and
    // `has_valid_spec == false`.
    std::vector<std::string> spec_errors;
    bool has_valid_spec = true;
    session_memory memory;
};

// Pods and spend of this controller now, counted against the budget guards.
// Creates in flight count as pods at their estimated price.
struct fleet_usage {
    int pods = 0;
    double cost_per_hour = 0;
};

struct create_pod {
    std::string session;  // `namespace/name`
    std::string pod_name;
    // RunPod GPU ids to try in order.
    std::vector<std::string> gpu_types;
    double estimated_cost_per_hour = 0;
};

struct terminate_pod {
    std::string session;  // empty for orphans
    std::string pod_id;
    std::string pod_name;
    termination_reason reason = termination_reason::orphan;
};

// Fetch a pod that the session's status names but the list does not show: it may
// be new (listing lag) or gone. The answer goes into the observed pods.
struct verify_pod {
    std::string session;
    std::string pod_id;
};

// The session's pod is confirmed gone: release the session (remove the
// finalizer, or the status and token files in directory mode).
struct release_session {
    std::string session;
};

using action = std::variant<create_pod, terminate_pod, verify_pod, release_session>;

[[nodiscard]] std::string describe(const action& planned);

enum class note_type { normal, warning };

// Something worth a log line and a Kubernetes Event. Never holds a secret.
struct note {
    std::string session;  // empty for controller-wide notes
    note_type type = note_type::normal;
    std::string reason;  // CamelCase, as Event reasons are
    std::string message;
};

struct session_plan {
    crd::pod_session_status status;
    std::vector<action> actions;
    // Mutating actions held back by `--dry-run`, for the log.
    std::vector<action> skipped;
    std::vector<note> notes;
    // The next time this session must be planned again even if nothing changes
    // (expiry, ready timeout, backoff end, create settle).
    std::optional<timestamp> wake_at;
    session_memory memory;
};

// Plans one session. `pods` are the observed pods with the session's pod name or
// id, TERMINATED ones included (they confirm a pod gone). `usage` is updated with
// a planned create, so planning sessions in a row never overshoots the guards.
[[nodiscard]] session_plan plan_session(const session_input& input,
                                        std::span<const crd::observed_pod> pods, fleet_usage& usage,
                                        const provider_state& provider, timestamp now,
                                        const settings& config);

struct orphan_plan {
    std::vector<action> actions;
    std::vector<action> skipped;
    std::vector<note> notes;
    std::optional<timestamp> wake_at;
};

// Finds pods with this controller's prefix that no session claims and reaps those
// older than the orphan grace. `claimed` maps pod names to the session UID that
// claims them. Reaps nothing unless `list_authoritative`: a failed or
// unauthorised list is not "no sessions".
[[nodiscard]] orphan_plan plan_orphans(
    std::span<const crd::observed_pod> pods,
    const std::map<std::string, std::string, std::less<>>& claimed, bool list_authoritative,
    timestamp now, const settings& config);

// Counts the pods of this controller that are not TERMINATED, and their cost.
[[nodiscard]] fleet_usage measure_usage(std::span<const crd::observed_pod> pods,
                                        const settings& config);

// The highest price per hour a pod of these types and count may cost, for the
// spend guard. Prices are on-demand estimates per GPU-hour; an unknown type
// counts at the highest known price.
[[nodiscard]] double estimate_cost_per_hour(std::span<const std::string> gpu_types, int gpu_count);

}  // namespace podsession::reconcile
