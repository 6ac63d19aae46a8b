#include "providers/simulated/faults.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "crd/time.hpp"
#include "crd/yaml_json.hpp"
#include "crd/yaml_load.hpp"

namespace podsession::providers::simulated {

namespace asio = boost::asio;
namespace json = boost::json;
namespace http = net::http;
using std::chrono::milliseconds;

namespace {

constexpr std::string_view problem_type = "application/problem+json";

struct kind_name {
    fault_kind kind;
    std::string_view name;
};

constexpr kind_name kind_names[] = {
    {fault_kind::error, "error"},
    {fault_kind::error_after_effect, "errorAfterEffect"},
    {fault_kind::drop_request, "dropRequest"},
    {fault_kind::drop_response, "dropResponse"},
    {fault_kind::ignore, "ignore"},
    {fault_kind::delay, "delay"},
    {fault_kind::list_lag, "listLag"},
    {fault_kind::stick, "stick"},
    {fault_kind::set_status, "setStatus"},
    {fault_kind::empty_balance, "emptyBalance"},
};

constexpr operation all_operations[] = {operation::create_pod, operation::list_pods,
                                        operation::get_pod, operation::delete_pod,
                                        operation::pod_action};

constexpr std::string_view rule_keys[] = {"operation", "fault",      "gpuId",  "namePrefix",
                                          "podId",     "status",     "detail", "retryAfterSeconds",
                                          "delayMs",   "delayMaxMs", "lagMs",  "podStatus",
                                          "pods",      "after",      "times",  "probability"};

std::string_view balance_name(balance_effect effect) {
    switch (effect) {
        case balance_effect::keep:
            return "keep";
        case balance_effect::stop:
            return "stop";
        case balance_effect::terminate:
            return "terminate";
    }
    return "stop";
}

// Reads a number that JSON gives as a number and YAML (through the project's
// converter) as an integer or a plain string.
std::optional<double> number_of(const json::value& value) {
    if (const auto* integer = value.if_int64()) {
        return static_cast<double>(*integer);
    }
    if (const auto* unsigned_integer = value.if_uint64()) {
        return static_cast<double>(*unsigned_integer);
    }
    if (const auto* real = value.if_double()) {
        return *real;
    }
    if (const auto* text = value.if_string()) {
        double parsed = 0;
        const auto* end = text->data() + text->size();
        const auto [stop, error] = std::from_chars(text->data(), end, parsed);
        if (error == std::errc{} && stop == end) {
            return parsed;
        }
    }
    return std::nullopt;
}

// Reads the fields of one JSON object and keeps the first error.
class field_reader {
  public:
    explicit field_reader(const json::object& object) : object_{object} {}

    // A string field; empty when absent.
    std::string text(std::string_view key) {
        const auto* value = object_.if_contains(key);
        if (value == nullptr) {
            return {};
        }
        if (!value->is_string()) {
            fail(std::string{key} + ": must be a string");
            return {};
        }
        return std::string{value->as_string()};
    }

    // A whole number in [minimum, maximum]; nothing when absent.
    std::optional<std::int64_t> whole(std::string_view key, double minimum, double maximum) {
        const auto* value = object_.if_contains(key);
        if (value == nullptr) {
            return std::nullopt;
        }
        const auto number = number_of(*value);
        if (!number || std::floor(*number) != *number || *number < minimum || *number > maximum) {
            fail(std::string{key} + ": " + json::serialize(*value) + " is not a whole number in " +
                 std::to_string(static_cast<std::int64_t>(minimum)) + ".." +
                 std::to_string(static_cast<std::int64_t>(maximum)));
            return std::nullopt;
        }
        return static_cast<std::int64_t>(*number);
    }

    void fail(std::string message) {
        if (!error_) {
            error_ = std::move(message);
        }
    }

    [[nodiscard]] const std::optional<std::string>& error() const noexcept { return error_; }

  private:
    const json::object& object_;
    std::optional<std::string> error_;
};

// Reads `operation` and `fault`.
void read_kind(field_reader& fields, fault_rule& rule) {
    const auto watched = fields.text("operation");
    if (!watched.empty() && watched != "*") {
        const auto found =
            std::find_if(std::begin(all_operations), std::end(all_operations),
                         [&](operation candidate) { return to_string(candidate) == watched; });
        if (found == std::end(all_operations)) {
            fields.fail("operation: \"" + watched +
                        "\" is not createPod, listPods, getPod, deletePod, podAction or *");
        } else {
            rule.watched = *found;
        }
    }
    const auto kind = fields.text("fault");
    const auto named = std::find_if(std::begin(kind_names), std::end(kind_names),
                                    [&](const kind_name& entry) { return entry.name == kind; });
    if (named == std::end(kind_names)) {
        fields.fail("fault: \"" + kind +
                    "\" is not error, errorAfterEffect, dropRequest, dropResponse, ignore, delay, "
                    "listLag, stick, setStatus or emptyBalance");
    } else {
        rule.kind = named->kind;
    }
}

// Reads `detail`: one string or a list of them.
void read_details(const json::object& object, field_reader& fields, fault_rule& rule) {
    const auto* detail = object.if_contains("detail");
    if (detail == nullptr) {
        return;
    }
    if (detail->is_string()) {
        rule.details.emplace_back(detail->as_string());
        return;
    }
    const auto* items = detail->if_array();
    const bool all_strings =
        items != nullptr && std::all_of(items->begin(), items->end(),
                                        [](const json::value& item) { return item.is_string(); });
    if (!all_strings) {
        fields.fail("detail: must be a string or a list of strings");
        return;
    }
    for (const auto& item : *items) {
        rule.details.emplace_back(item.as_string());
    }
}

// Parses one rule; returns the error text without the `rules[i].` prefix.
boost::system::result<fault_rule, std::string> parse_rule(const json::object& object) {
    for (const auto& [key, value] : object) {
        if (std::find(std::begin(rule_keys), std::end(rule_keys), key) == std::end(rule_keys)) {
            return std::string{key} + ": unknown key";
        }
    }
    fault_rule rule;
    field_reader fields{object};

    // What the rule watches, and which requests it picks.
    read_kind(fields, rule);
    rule.gpu_id = fields.text("gpuId");
    rule.name_prefix = fields.text("namePrefix");
    rule.pod_id = fields.text("podId");

    // What it does.
    constexpr double max_seconds = 86'400;
    constexpr double max_milliseconds = max_seconds * 1000;
    rule.status = static_cast<unsigned>(fields.whole("status", 400, 599).value_or(500));
    read_details(object, fields, rule);
    if (const auto seconds = fields.whole("retryAfterSeconds", 0, max_seconds)) {
        rule.retry_after = std::chrono::seconds{*seconds};
    }
    rule.delay = milliseconds{fields.whole("delayMs", 0, max_milliseconds).value_or(0)};
    rule.delay_max = milliseconds{fields.whole("delayMaxMs", 0, max_milliseconds).value_or(0)};
    rule.lag = milliseconds{fields.whole("lagMs", 0, max_milliseconds).value_or(0)};
    if (const auto status = fields.text("podStatus"); !status.empty()) {
        rule.pod_status = crd::parse_pod_status(status);
        if (rule.pod_status == crd::pod_status::unknown) {
            fields.fail("podStatus: \"" + status + "\" is not a RunPod pod status");
        }
    }
    if (const auto effect_name = fields.text("pods"); !effect_name.empty()) {
        const auto effect = parse_balance_effect(effect_name);
        if (!effect) {
            fields.fail("pods: \"" + effect_name + "\" is not stop, terminate or keep");
        } else {
            rule.balance = *effect;
        }
    }

    // When it applies.
    constexpr double max_count = 1e15;
    rule.after = static_cast<std::uint64_t>(fields.whole("after", 0, max_count).value_or(0));
    if (const auto times = fields.whole("times", 0, max_count)) {
        rule.times = static_cast<std::uint64_t>(*times);
    }
    if (const auto* probability = object.if_contains("probability")) {
        const auto number = number_of(*probability);
        if (!number || *number < 0 || *number > 1) {
            fields.fail("probability: " + json::serialize(*probability) +
                        " is not a number in 0..1");
        } else {
            rule.probability = *number;
        }
    }

    if (fields.error()) {
        return *fields.error();
    }
    return rule;
}

// Checks that a rule's kind has the parameters and operation it needs.
std::optional<std::string> check_rule(fault_rule& rule) {
    using crd::pod_status;
    switch (rule.kind) {
        case fault_kind::ignore:
            if (rule.watched != operation::delete_pod && rule.watched != operation::pod_action) {
                return "operation: ignore applies to deletePod or podAction only";
            }
            break;
        case fault_kind::list_lag:
            if (rule.watched && rule.watched != operation::list_pods) {
                return "operation: listLag applies to listPods only";
            }
            rule.watched = operation::list_pods;
            if (rule.lag <= milliseconds::zero()) {
                return "lagMs: listLag needs a lag above 0";
            }
            break;
        case fault_kind::stick:
            if (rule.watched && rule.watched != operation::create_pod) {
                return "operation: stick applies to createPod only";
            }
            rule.watched = operation::create_pod;
            if (rule.pod_status == pod_status::unknown ||
                rule.pod_status == pod_status::terminated) {
                return "podStatus: stick needs a live status such as PROVISIONING or STARTING";
            }
            break;
        case fault_kind::set_status:
            if (rule.pod_status == pod_status::unknown) {
                return "podStatus: setStatus needs a RunPod pod status";
            }
            break;
        case fault_kind::delay:
            if (rule.delay <= milliseconds::zero()) {
                return "delayMs: delay needs a latency above 0";
            }
            break;
        default:
            break;
    }
    if (rule.delay_max > milliseconds::zero() && rule.delay_max < rule.delay) {
        return "delayMaxMs: must not be below delayMs";
    }
    return std::nullopt;
}

// Returns a pod list body without the pods created less than `lag` before
// `now`; any other body unchanged.
std::string without_young_pods(const std::string& body, sim_clock::time_point now,
                               milliseconds lag) {
    boost::system::error_code error;
    auto parsed = json::parse(body, error);
    auto* object = !error ? parsed.if_object() : nullptr;
    auto* pods = object != nullptr ? object->if_contains("pods") : nullptr;
    if (pods == nullptr || !pods->is_array()) {
        return body;
    }
    auto& list = pods->as_array();
    const auto cutoff = std::chrono::time_point_cast<std::chrono::milliseconds>(now - lag);
    for (auto item = list.begin(); item != list.end();) {
        const auto* created =
            item->is_object() ? item->as_object().if_contains("createdAt") : nullptr;
        const auto at = created != nullptr && created->is_string()
                            ? crd::parse_rfc3339(created->as_string())
                            : std::nullopt;
        if (at && *at > cutoff) {
            item = list.erase(item);
        } else {
            ++item;
        }
    }
    return json::serialize(parsed);
}

// The `action` of a pod action body; empty when there is none.
std::string action_of(std::string_view body) {
    boost::system::error_code error;
    const auto parsed = json::parse(body, error);
    const auto* object = !error ? parsed.if_object() : nullptr;
    const auto* action = object != nullptr ? object->if_contains("action") : nullptr;
    return action != nullptr && action->is_string() ? std::string{action->as_string()}
                                                    : std::string{};
}

}  // namespace

asio::awaitable<std::optional<net::reply>> fault_script::before(operation,
                                                                const net::server_request&) {
    co_return std::nullopt;
}

asio::awaitable<void> fault_script::after(operation, const net::server_request&, net::reply&) {
    co_return;
}

std::string_view to_string(operation value) {
    switch (value) {
        case operation::create_pod:
            return "createPod";
        case operation::list_pods:
            return "listPods";
        case operation::get_pod:
            return "getPod";
        case operation::delete_pod:
            return "deletePod";
        case operation::pod_action:
            return "podAction";
    }
    return "unknown";
}

std::string_view to_string(fault_kind kind) {
    for (const auto& entry : kind_names) {
        if (entry.kind == kind) {
            return entry.name;
        }
    }
    return "error";
}

boost::system::result<fault_plan, std::string> parse_fault_plan(std::string_view text) {
    // JSON first, because YAML would read it too but turn its numbers into
    // strings; anything else goes to the YAML parser.
    json::value document;
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first != std::string_view::npos && text[first] == '{') {
        boost::system::error_code error;
        document = json::parse(text, error);
        if (error) {
            return "not valid JSON: " + error.message();
        }
    } else {
        try {
            document = crd::detail::to_json(crd::load_yaml(text));
        } catch (const crd::yaml_expansion_error& error) {
            return error.msg + " at line " + std::to_string(error.mark.line + 1);
        } catch (const YAML::Exception& error) {
            return std::string{"not valid YAML: "} + error.what();
        }
    }

    const auto* object = document.if_object();
    if (object == nullptr) {
        return std::string{"a fault plan must be an object with \"rules\" (and \"seed\")"};
    }
    for (const auto& [key, value] : *object) {
        if (key != "seed" && key != "rules") {
            return std::string{key} + ": unknown key; a fault plan has \"seed\" and \"rules\"";
        }
    }
    fault_plan plan;
    if (const auto* seed = object->if_contains("seed")) {
        const auto number = number_of(*seed);
        if (!number || *number < 0 || std::floor(*number) != *number) {
            return "seed: " + json::serialize(*seed) + " is not a whole number of at least 0";
        }
        plan.seed = static_cast<std::uint64_t>(*number);
    }
    const auto* rules = object->if_contains("rules");
    if (rules != nullptr && !rules->is_array()) {
        return std::string{"rules: must be a list"};
    }
    if (rules == nullptr) {
        return plan;
    }
    for (std::size_t i = 0; i < rules->as_array().size(); ++i) {
        const auto prefix = "rules[" + std::to_string(i) + "].";
        const auto& item = rules->as_array()[i];
        if (!item.is_object()) {
            return "rules[" + std::to_string(i) + "]: must be an object";
        }
        auto rule = parse_rule(item.as_object());
        if (!rule) {
            return prefix + rule.error();
        }
        if (const auto problem = check_rule(*rule)) {
            return prefix + *problem;
        }
        plan.rules.push_back(std::move(*rule));
    }
    return plan;
}

json::object to_json(const fault_plan& plan) {
    json::array rules;
    for (const auto& rule : plan.rules) {
        json::object out;
        out["operation"] = rule.watched ? to_string(*rule.watched) : "*";
        out["fault"] = to_string(rule.kind);
        if (!rule.gpu_id.empty()) {
            out["gpuId"] = rule.gpu_id;
        }
        if (!rule.name_prefix.empty()) {
            out["namePrefix"] = rule.name_prefix;
        }
        if (!rule.pod_id.empty()) {
            out["podId"] = rule.pod_id;
        }
        if (rule.kind == fault_kind::error || rule.kind == fault_kind::error_after_effect) {
            out["status"] = rule.status;
        }
        if (!rule.details.empty()) {
            json::array details;
            for (const auto& detail : rule.details) {
                details.emplace_back(detail);
            }
            out["detail"] = std::move(details);
        }
        if (rule.retry_after) {
            out["retryAfterSeconds"] = rule.retry_after->count();
        }
        if (rule.delay > milliseconds::zero()) {
            out["delayMs"] = rule.delay.count();
        }
        if (rule.delay_max > milliseconds::zero()) {
            out["delayMaxMs"] = rule.delay_max.count();
        }
        if (rule.lag > milliseconds::zero()) {
            out["lagMs"] = rule.lag.count();
        }
        if (rule.pod_status != crd::pod_status::unknown) {
            out["podStatus"] = crd::to_string(rule.pod_status);
        }
        if (rule.kind == fault_kind::empty_balance) {
            out["pods"] = balance_name(rule.balance);
        }
        out["after"] = rule.after;
        if (rule.times) {
            out["times"] = *rule.times;
        }
        out["probability"] = rule.probability;
        out["matched"] = rule.matched;
        out["applied"] = rule.applied;
        rules.push_back(std::move(out));
    }
    return json::object{{"seed", plan.seed}, {"rules", std::move(rules)}};
}

fault_rules::fault_rules(pod_store& store, fault_plan plan)
    : store_{store}, plan_{std::move(plan)}, random_{plan_.seed} {}

void fault_rules::replace(fault_plan plan) {
    plan_ = std::move(plan);
    random_.seed(plan_.seed);
    pending_.clear();
}

void fault_rules::append(std::vector<fault_rule> rules) {
    for (auto& rule : rules) {
        plan_.rules.push_back(std::move(rule));
    }
}

fault_rules::subject fault_rules::subject_of(operation called,
                                             const net::server_request& request) const {
    subject about;
    if (called == operation::create_pod) {
        boost::system::error_code error;
        const auto body = json::parse(request.message.body, error);
        const auto* object = !error ? body.if_object() : nullptr;
        if (object == nullptr) {
            return about;
        }
        if (const auto* name = object->if_contains("name"); name != nullptr && name->is_string()) {
            about.name = name->as_string();
        }
        const auto* gpu = object->if_contains("gpu");
        const auto* id =
            gpu != nullptr && gpu->is_object() ? gpu->as_object().if_contains("id") : nullptr;
        if (id != nullptr && id->is_string()) {
            about.gpu_id = id->as_string();
        }
        return about;
    }
    about.pod_id = request.parameter("id");
    if (!about.pod_id.empty()) {
        about.name = store_.name_of(about.pod_id).value_or("");
    }
    return about;
}

bool fault_rules::matches(const fault_rule& rule, operation called, const subject& about) const {
    if (rule.watched && *rule.watched != called) {
        return false;
    }
    if (called == operation::list_pods) {
        return true;
    }
    if (!rule.gpu_id.empty() && (called != operation::create_pod || about.gpu_id != rule.gpu_id)) {
        return false;
    }
    if (!rule.pod_id.empty() && about.pod_id != rule.pod_id) {
        return false;
    }
    return about.name.starts_with(rule.name_prefix);
}

bool fault_rules::fires(fault_rule& rule) {
    rule.matched += 1;
    if (rule.matched <= rule.after) {
        return false;
    }
    if (rule.times && rule.applied >= *rule.times) {
        return false;
    }
    if (rule.probability < 1.0) {
        std::uniform_real_distribution<double> draw{0.0, 1.0};
        if (draw(random_) >= rule.probability) {
            return false;
        }
    }
    rule.applied += 1;
    return true;
}

void fault_rules::set_status(const fault_rule& rule, operation called, const subject& about) {
    std::vector<std::string> targets;
    if (!about.pod_id.empty()) {
        targets.push_back(about.pod_id);
    } else if (called == operation::list_pods) {
        for (auto& id : store_.live_pod_ids(rule.name_prefix)) {
            if (rule.pod_id.empty() || id == rule.pod_id) {
                targets.push_back(std::move(id));
            }
        }
    }
    const std::string body =
        json::serialize(json::object{{"status", crd::to_string(rule.pod_status)}});
    for (const auto& id : targets) {
        const auto changed = store_.admin_set_status(id, body);
        spdlog::info("fault moved a pod pod={} status={} result={}", id,
                     crd::to_string(rule.pod_status), changed.status);
    }
}

milliseconds fault_rules::draw_latency(const fault_rule& rule) {
    if (rule.delay_max <= rule.delay) {
        return rule.delay;
    }
    std::uniform_int_distribution<std::int64_t> draw{rule.delay.count(), rule.delay_max.count()};
    return milliseconds{draw(random_)};
}

net::reply fault_rules::ignored_reply(operation called, const net::server_request& request,
                                      const subject& about) {
    // Success as the real operation would report it, with no effect.
    const bool deleting =
        called == operation::delete_pod || action_of(request.message.body) == "terminate";
    auto current = store_.get(about.pod_id);
    net::response message;
    message.status = current.status != 200 ? current.status : (deleting ? 204 : 200);
    if (message.status != 204) {
        message.headers.set(http::field::content_type,
                            message.status == 200 ? "application/json" : problem_type);
        message.body = std::move(current.body);
    }
    return net::reply{std::move(message)};
}

net::reply fault_rules::error_reply(fault_rule& rule) const {
    std::string detail = "scripted fault";
    if (!rule.details.empty()) {
        detail = rule.details[(rule.applied - 1) % rule.details.size()];
    } else if (rule.status == 429) {
        detail = "rate limit exceeded";
    } else if (rule.status >= 500) {
        detail = "an internal error occurred; try again later";
    }
    const auto outcome = problem(rule.status, detail);
    net::response message;
    message.status = rule.status;
    message.headers.set(http::field::content_type, problem_type);
    message.body = outcome.body;
    if (rule.retry_after) {
        message.headers.set(http::field::retry_after, std::to_string(rule.retry_after->count()));
    }
    return net::reply{std::move(message)};
}

asio::awaitable<std::optional<net::reply>> fault_rules::before(operation called,
                                                               const net::server_request& request) {
    const auto about = subject_of(called, request);
    milliseconds latency{0};
    std::optional<net::reply> replaced;
    std::vector<std::size_t> later;

    for (std::size_t i = 0; i < plan_.rules.size() && !replaced; ++i) {
        auto& rule = plan_.rules[i];
        if (!matches(rule, called, about) || !fires(rule)) {
            continue;
        }
        spdlog::debug("fault applied operation={} fault={} rule={}", to_string(called),
                      to_string(rule.kind), i);

        latency += draw_latency(rule);
        switch (rule.kind) {
            case fault_kind::error:
                replaced = error_reply(rule);
                break;
            case fault_kind::drop_request:
                replaced = net::reply{net::response{}, net::reply_mode::close_without_reply};
                break;
            case fault_kind::ignore:
                replaced = ignored_reply(called, request, about);
                break;
            case fault_kind::set_status:
                set_status(rule, called, about);
                break;
            case fault_kind::empty_balance:
                store_.set_balance_empty(true, rule.balance);
                spdlog::info("fault emptied the balance pods={}", balance_name(rule.balance));
                break;
            case fault_kind::error_after_effect:
            case fault_kind::drop_response:
            case fault_kind::list_lag:
            case fault_kind::stick:
                later.push_back(i);
                break;
            case fault_kind::delay:
                break;
        }
    }

    if (!replaced && !later.empty()) {
        pending_[&request] = std::move(later);
    }
    if (latency > milliseconds::zero()) {
        asio::steady_timer timer{co_await asio::this_coro::executor, latency};
        co_await timer.async_wait(asio::use_awaitable);
    }
    co_return replaced;
}

asio::awaitable<void> fault_rules::after(operation, const net::server_request& request,
                                         net::reply& reply) {
    const auto found = pending_.find(&request);
    if (found == pending_.end()) {
        co_return;
    }
    const auto indices = std::move(found->second);
    pending_.erase(found);

    for (const auto i : indices) {
        if (i >= plan_.rules.size()) {
            continue;
        }
        auto& rule = plan_.rules[i];
        switch (rule.kind) {
            case fault_kind::list_lag:
                if (reply.message.status == 200) {
                    reply.message.body =
                        without_young_pods(reply.message.body, store_.now(), rule.lag);
                }
                break;
            case fault_kind::stick:
                if (reply.message.status == 201) {
                    boost::system::error_code error;
                    const auto body = json::parse(reply.message.body, error);
                    const auto* object = !error ? body.if_object() : nullptr;
                    const auto* id = object != nullptr ? object->if_contains("id") : nullptr;
                    if (id != nullptr && id->is_string()) {
                        (void)store_.admin_set_status(
                            id->as_string(), json::serialize(json::object{
                                                 {"status", crd::to_string(rule.pod_status)}}));
                    }
                }
                break;
            case fault_kind::error_after_effect:
                reply = error_reply(rule);
                break;
            case fault_kind::drop_response:
                reply.mode = net::reply_mode::close_without_reply;
                break;
            default:
                break;
        }
    }
}

}  // namespace podsession::providers::simulated
