#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/system/result.hpp>

#include "crd/observed_pod.hpp"
#include "net/server.hpp"
#include "providers/simulated/pod_store.hpp"

// Scripted faults of the simulated RunPod API: the behaviours seen from the
// real API, as rules loaded from a file (`simulate-runpod --faults FILE`) or
// set through `/_sim/faults`. docs/simulator.md describes the format.
namespace podsession::providers::simulated {

// The RunPod API operations the simulator serves, named as RunPod's
// specification names them (`to_string`).
enum class operation { create_pod, list_pods, get_pod, delete_pod, pod_action };

[[nodiscard]] std::string_view to_string(operation value);

// The extension point for scripted faults (a 500 after a create, a lost
// response, listing lag, 429 bursts, slow responses). Both hooks run on the
// simulator's executor for every authenticated RunPod API request.
class fault_script {
  public:
    virtual ~fault_script() = default;

    // Runs before the pod store receives the request. A reply returned here is sent
    // instead and the request has no effect. May wait (co_await a timer) to
    // simulate a slow API.
    [[nodiscard]] virtual boost::asio::awaitable<std::optional<net::reply>> before(
        operation operation, const net::server_request& request);

    // Runs after the pod store applied the request, with the reply about to be
    // sent, which it may replace: a 500 although the pod exists, or
    // `net::reply_mode::close_without_reply` for a lost response.
    [[nodiscard]] virtual boost::asio::awaitable<void> after(operation operation,
                                                             const net::server_request& request,
                                                             net::reply& reply);
};

// The effect of a rule on a matching request.
enum class fault_kind {
    // Replies with an error status; the request has no effect.
    error,
    // Applies the request, then replies with an error status: a create that
    // made a pod but returned 500, a DELETE that worked but failed.
    error_after_effect,
    // Closes the connection without a reply and without applying the request.
    drop_request,
    // Applies the request, then closes the connection without a reply: a
    // response lost after the pod was made.
    drop_response,
    // Replies success without applying the request (DELETE, actions only).
    ignore,
    // Only the rule's latency.
    delay,
    // Leaves pods younger than `lag` out of the list, as RunPod's list lags
    // new pods.
    list_lag,
    // Keeps a new pod in `pod_status` (PROVISIONING or STARTING) forever.
    stick,
    // Moves the matching pods to `pod_status` at once: ERROR, EXITED, or
    // TERMINATED for a deletion from the RunPod console.
    set_status,
    // Empties the account's balance: creates fail with 402, and live pods
    // stop or terminate as `balance` sets.
    empty_balance,
};

[[nodiscard]] std::string_view to_string(fault_kind kind);

struct fault_rule {
    // The operation the rule watches; nothing for every operation.
    std::optional<operation> watched;
    fault_kind kind = fault_kind::error;

    // Filters. A rule applies only to requests whose pod matches them: the
    // create body's `gpu.id` and `name`, or the id in the path and that pod's
    // name. A list request always matches, and the filters choose which
    // pods `set_status` and `list_lag` act on.
    std::string gpu_id;
    std::string name_prefix;
    std::string pod_id;

    // The reply of `error` and `error_after_effect`.
    unsigned status = 500;
    // Problem details, used in turn; empty for a standard one.
    std::vector<std::string> details;
    std::optional<std::chrono::seconds> retry_after;

    // Latency before the request is handled: `delay`, or uniform in
    // [delay, delay_max] when `delay_max` is larger.
    std::chrono::milliseconds delay{0};
    std::chrono::milliseconds delay_max{0};
    std::chrono::milliseconds lag{0};
    crd::pod_status pod_status = crd::pod_status::unknown;
    balance_effect balance = balance_effect::stop;

    // Matching requests let through before the rule starts to apply.
    std::uint64_t after = 0;
    // How many matching requests it applies to; nothing for no limit.
    std::optional<std::uint64_t> times;
    // The chance that it applies to a matching request, drawn from the
    // plan's seeded generator.
    double probability = 1.0;

    std::uint64_t matched = 0;
    std::uint64_t applied = 0;
};

struct fault_plan {
    // Seeds the generator for `probability` and latency ranges, so that a
    // run can be repeated.
    std::uint64_t seed = 1;
    std::vector<fault_rule> rules;
};

// Parses a fault plan from JSON or YAML text: `{"seed": N, "rules": [...]}`.
// The error names the rule and field, for example
// `rules[2].status: 99 is not an HTTP error status (400..599)`.
[[nodiscard]] boost::system::result<fault_plan, std::string> parse_fault_plan(
    std::string_view text);

// Encodes a plan as `/_sim/faults` returns it, with each rule's counters.
[[nodiscard]] boost::json::object to_json(const fault_plan& plan);

// Applies a fault plan to the simulator's requests. Runs on the simulator's
// executor, like the pod store it acts on.
class fault_rules final : public fault_script {
  public:
    explicit fault_rules(pod_store& store, fault_plan plan = {});

    void replace(fault_plan plan);
    void append(std::vector<fault_rule> rules);
    [[nodiscard]] const fault_plan& plan() const noexcept { return plan_; }

    [[nodiscard]] boost::asio::awaitable<std::optional<net::reply>> before(
        operation called, const net::server_request& request) override;
    [[nodiscard]] boost::asio::awaitable<void> after(operation called,
                                                     const net::server_request& request,
                                                     net::reply& reply) override;

  private:
    // The pod a request is about, when it names one, for the filters.
    struct subject {
        std::string gpu_id;
        std::string name;
        std::string pod_id;
    };

    [[nodiscard]] subject subject_of(operation called, const net::server_request& request) const;
    [[nodiscard]] bool matches(const fault_rule& rule, operation called,
                               const subject& about) const;
    [[nodiscard]] bool fires(fault_rule& rule);
    void set_status(const fault_rule& rule, operation called, const subject& about);
    [[nodiscard]] net::reply error_reply(fault_rule& rule) const;
    [[nodiscard]] net::reply ignored_reply(operation called, const net::server_request& request,
                                           const subject& about);
    [[nodiscard]] std::chrono::milliseconds draw_latency(const fault_rule& rule);

    pod_store& store_;
    fault_plan plan_;
    std::mt19937_64 random_;
    // Rules that act once the store has applied a request, by request.
    std::map<const net::server_request*, std::vector<std::size_t>> pending_;
};

}  // namespace podsession::providers::simulated
