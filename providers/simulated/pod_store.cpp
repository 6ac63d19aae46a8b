#include "providers/simulated/pod_store.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>

#include "crd/gpu_types.hpp"
#include "crd/time.hpp"

namespace podsession::providers::simulated {

namespace json = boost::json;
using crd::pod_status;

namespace {

constexpr std::string_view id_alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
// As long as `gfj8b292vyg08g`, a pod id in RunPod's specification (its other
// examples are shorter).
constexpr std::size_t id_length = 14;
// A capacity message in the style of RunPod's. The real wording varies.
constexpr std::string_view no_capacity_detail =
    "There are no longer any instances available with the requested specifications. "
    "Please refresh and try again.";
// The public IP of every simulated pod. It is loopback, so that a client that
// does connect to a tcp port reaches nothing beyond this machine.
constexpr std::string_view simulated_public_ip = "127.0.0.1";
constexpr std::string_view simulated_data_center = "US-KS-2";
constexpr std::string_view insufficient_balance_detail =
    "Your account balance is too low to deploy this pod. Add funds and try again.";

std::string_view title_of(unsigned status) {
    switch (status) {
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 402:
            return "Payment Required";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 409:
            return "Conflict";
        case 422:
            return "Unprocessable Entity";
        case 429:
            return "Too Many Requests";
        default:
            return status >= 500 ? "Internal Server Error" : "Error";
    }
}

std::string format_time(sim_clock::time_point time) {
    return crd::format_rfc3339(std::chrono::time_point_cast<std::chrono::milliseconds>(time));
}

// Compares `major.minor` versions numerically, so that 12.10 is above 12.9.
// Digit strings are compared without conversion, so no length overflows.
bool version_above(std::string_view left, std::string_view right) {
    const auto number = [](std::string_view digits) {
        digits.remove_prefix(std::min(digits.find_first_not_of('0'), digits.size()));
        return std::pair{digits.size(), digits};
    };
    const auto split = [&](std::string_view text) {
        const auto dot = text.find('.');
        return std::pair{number(text.substr(0, dot)), number(text.substr(dot + 1))};
    };
    return split(left) > split(right);
}

bool all_digits(std::string_view text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Matches `^\d+\.\d+$`, the schema's pattern for CUDA versions.
bool is_cuda_version(std::string_view text) {
    const auto dot = text.find('.');
    return dot != std::string_view::npos && all_digits(text.substr(0, dot)) &&
           all_digits(text.substr(dot + 1));
}

// Matches `port/http` or `port/tcp` with a port in 1..65535.
bool is_port_spec(std::string_view text) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos || slash > 5 || !all_digits(text.substr(0, slash))) {
        return false;
    }
    const int port = std::stoi(std::string{text.substr(0, slash)});
    const auto protocol = text.substr(slash + 1);
    return port >= 1 && port <= 65535 && (protocol == "http" || protocol == "tcp");
}

bool is_positive_integer(const json::value* value, std::int64_t minimum) {
    if (value == nullptr) {
        return false;
    }
    if (const auto* integer = value->if_int64()) {
        return *integer >= minimum;
    }
    if (const auto* unsigned_integer = value->if_uint64()) {
        return *unsigned_integer >= static_cast<std::uint64_t>(minimum);
    }
    return false;
}

bool is_string_array(const json::value& value) {
    return value.is_array() &&
           std::all_of(value.as_array().begin(), value.as_array().end(),
                       [](const json::value& item) { return item.is_string(); });
}

void reject_unknown_keys(const json::object& object, std::string_view path,
                         std::initializer_list<std::string_view> known,
                         std::vector<std::string>& errors) {
    for (const auto& [key, value] : object) {
        if (std::find(known.begin(), known.end(), key) == known.end()) {
            errors.push_back(std::string{path} + ": additional properties '" + std::string{key} +
                             "' not allowed");
        }
    }
}

// Checks a create body against `CreatePodRequest` and returns the violations
// in the form RunPod's 422 `errors[]` uses.
std::vector<std::string> validate_create(const json::object& body) {
    std::vector<std::string> errors;

    reject_unknown_keys(body, "$",
                        {"args", "disk", "env", "image", "ports", "registry", "name", "cloud",
                         "cpu", "dataCenterIds", "globalNetworking", "gpu", "mounts",
                         "startJupyter", "startSsh", "templateId"},
                        errors);

    const auto* name = body.if_contains("name");
    if (name == nullptr || !name->is_string() || name->as_string().empty()) {
        errors.emplace_back("$.name: a non-empty string is required");
    }
    const auto* image = body.if_contains("image");
    if (image != nullptr && !image->is_string()) {
        errors.emplace_back("$.image: must be a string");
    }
    if (image == nullptr && !body.contains("templateId")) {
        errors.emplace_back("$: 'image' is required unless 'templateId' is set");
    }
    if (const auto* args = body.if_contains("args"); args != nullptr && !args->is_string()) {
        errors.emplace_back("$.args: must be a string");
    }
    if (const auto* disk = body.if_contains("disk");
        disk != nullptr && !is_positive_integer(disk, 1)) {
        errors.emplace_back("$.disk: must be an integer of at least 1");
    }
    if (const auto* cloud = body.if_contains("cloud");
        cloud != nullptr && !(cloud->is_string() && (cloud->as_string() == "SECURE" ||
                                                     cloud->as_string() == "COMMUNITY"))) {
        errors.emplace_back("$.cloud: must be one of SECURE, COMMUNITY");
    }
    if (const auto* ids = body.if_contains("dataCenterIds");
        ids != nullptr && !is_string_array(*ids)) {
        errors.emplace_back("$.dataCenterIds: must be an array of strings");
    }
    if (const auto* ports = body.if_contains("ports")) {
        if (!is_string_array(*ports)) {
            errors.emplace_back("$.ports: must be an array of strings");
        } else {
            for (const auto& port : ports->as_array()) {
                const std::string text{port.as_string()};
                if (!is_port_spec(text)) {
                    errors.push_back("$.ports: '" + text + "' is not port/http or port/tcp");
                }
            }
        }
    }
    if (const auto* env = body.if_contains("env")) {
        if (!env->is_object()) {
            errors.emplace_back("$.env: must be an object");
        } else {
            for (const auto& [key, value] : env->as_object()) {
                if (!value.is_string()) {
                    errors.push_back("$.env." + std::string{key} + ": must be a string");
                }
            }
        }
    }
    for (const std::string_view flag : {"globalNetworking", "startJupyter", "startSsh"}) {
        if (const auto* value = body.if_contains(flag); value != nullptr && !value->is_bool()) {
            errors.push_back("$." + std::string{flag} + ": must be a boolean");
        }
    }
    if (const auto* registry = body.if_contains("registry");
        registry != nullptr && !registry->is_string() && !registry->is_null()) {
        errors.emplace_back("$.registry: must be a string or null");
    }
    if (const auto* gpu = body.if_contains("gpu")) {
        if (!gpu->is_object()) {
            errors.emplace_back("$.gpu: must be an object");
        } else {
            const auto& object = gpu->as_object();
            reject_unknown_keys(object, "$.gpu",
                                {"id", "count", "minCudaVersion", "allowedCudaVersions"}, errors);
            if (const auto* id = object.if_contains("id"); id == nullptr || !id->is_string()) {
                errors.emplace_back("$.gpu.id: a string is required");
            }
            if (const auto* count = object.if_contains("count");
                count != nullptr && !is_positive_integer(count, 1)) {
                errors.emplace_back("$.gpu.count: must be an integer of at least 1");
            }
            if (const auto* cuda = object.if_contains("minCudaVersion");
                cuda != nullptr && !(cuda->is_string() && is_cuda_version(cuda->as_string()))) {
                errors.emplace_back("$.gpu.minCudaVersion: must match ^\\d+\\.\\d+$");
            }
        }
    }
    if (const auto* mounts = body.if_contains("mounts")) {
        if (!mounts->is_object()) {
            errors.emplace_back("$.mounts: must be an object");
        } else {
            reject_unknown_keys(mounts->as_object(), "$.mounts", {"persistent", "network"}, errors);
            if (const auto* persistent = mounts->as_object().if_contains("persistent")) {
                if (!persistent->is_object()) {
                    errors.emplace_back("$.mounts.persistent: must be an object");
                } else {
                    const auto& object = persistent->as_object();
                    reject_unknown_keys(object, "$.mounts.persistent", {"size", "path"}, errors);
                    if (!is_positive_integer(object.if_contains("size"), 10)) {
                        errors.emplace_back(
                            "$.mounts.persistent.size: an integer of at least 10 is required");
                    }
                    if (const auto* path = object.if_contains("path");
                        path == nullptr || !path->is_string()) {
                        errors.emplace_back("$.mounts.persistent.path: a string is required");
                    }
                }
            }
        }
    }
    return errors;
}

std::vector<std::string_view> actions_for(pod_status status) {
    switch (status) {
        case pod_status::running:
            return {"stop", "restart", "terminate"};
        case pod_status::exited:
        case pod_status::error:
            return {"start", "terminate"};
        case pod_status::provisioning:
        case pod_status::starting:
            return {"stop", "terminate"};
        default:
            return {};
    }
}

// The latest time a state document may carry, in milliseconds since the Unix
// epoch: about the year 2255, below the 2262 limit of nanosecond clocks.
constexpr std::int64_t max_state_time_ms = 9'000'000'000'000;

std::int64_t epoch_milliseconds(sim_clock::time_point time) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

// Returns the member `key` when it is an integer in `minimum..maximum`.
std::optional<std::int64_t> integer_member(const json::object& object, std::string_view key,
                                           std::int64_t minimum, std::int64_t maximum) {
    const auto* value = object.if_contains(key);
    if (value == nullptr || !(value->is_int64() || value->is_uint64())) {
        return std::nullopt;
    }
    if (value->is_uint64() && value->get_uint64() > static_cast<std::uint64_t>(
                                                        std::numeric_limits<std::int64_t>::max())) {
        return std::nullopt;
    }
    const auto number = value->to_number<std::int64_t>();
    if (number < minimum || number > maximum) {
        return std::nullopt;
    }
    return number;
}

// Returns the member `key` when it is a non-empty string.
std::optional<std::string> text_member(const json::object& object, std::string_view key) {
    const auto* value = object.if_contains(key);
    if (value == nullptr || !value->is_string() || value->as_string().empty()) {
        return std::nullopt;
    }
    return std::string{value->as_string()};
}

// Returns "line L, column C" of a byte offset in `text`.
std::string describe_position(std::string_view text, std::size_t offset) {
    offset = std::min(offset, text.size());
    const auto before = text.substr(0, offset);
    const auto line = std::count(before.begin(), before.end(), '\n') + 1;
    const auto line_start = before.rfind('\n');
    const auto column = line_start == std::string_view::npos ? offset + 1 : offset - line_start;
    return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

}  // namespace

struct pod_store::pod {
    std::string id;
    // The create body as sent, which the pod's JSON echoes (env included,
    // byte for byte).
    json::object spec;
    std::string gpu_id;
    int gpu_count = 1;
    double price_per_gpu = 0;
    sim_clock::time_point created_at;
    // When the current boot began: the create, or the last `start`.
    sim_clock::time_point boot_started_at;
    // A status set by an action or the admin API instead of the schedule.
    std::optional<pod_status> pinned;
    bool deleted = false;
    // Public ports of the `tcp` entries of `ports`, by private port.
    std::map<std::uint16_t, std::uint16_t> public_ports;
};

outcome problem(unsigned status, std::string_view detail, std::vector<std::string> errors) {
    json::object body{{"title", title_of(status)}, {"status", status}, {"detail", detail}};
    if (!errors.empty()) {
        json::array list;
        for (auto& error : errors) {
            list.emplace_back(std::move(error));
        }
        body["errors"] = std::move(list);
    }
    return outcome{status, json::serialize(body)};
}

price_table default_prices() {
    price_table prices;
    for (const auto id : crd::known_gpu_ids()) {
        prices.emplace(std::string{id}, unlisted_gpu_price);
    }
    prices["NVIDIA H200"] = 3.99;
    prices["NVIDIA H100 80GB HBM3"] = 2.99;
    prices["NVIDIA A100 80GB PCIe"] = 1.64;
    prices["NVIDIA GeForce RTX 4090"] = 0.69;
    prices["NVIDIA GeForce RTX 3090"] = 0.43;
    prices["NVIDIA L4"] = 0.44;
    return prices;
}

pod_store::pod_store(store_options options)
    : options_{std::move(options)},
      random_{options_.seed != 0 ? options_.seed : std::random_device{}()} {}

pod_store::~pod_store() = default;

std::string pod_store::new_id() {
    std::uniform_int_distribution<std::size_t> pick{0, id_alphabet.size() - 1};
    for (;;) {
        std::string id;
        for (std::size_t i = 0; i < id_length; ++i) {
            id += id_alphabet[pick(random_)];
        }
        const bool in_use = std::any_of(pods_.begin(), pods_.end(),
                                        [&](const pod& existing) { return existing.id == id; });
        if (!in_use) {
            return id;
        }
    }
}

std::uint16_t pod_store::new_public_port() {
    std::uniform_int_distribution<int> pick{10'000, 60'000};
    return static_cast<std::uint16_t>(pick(random_));
}

pod_store::pod* pod_store::find_live(std::string_view id) {
    for (auto& candidate : pods_) {
        if (candidate.id == id && !candidate.deleted) {
            return &candidate;
        }
    }
    return nullptr;
}

pod_status pod_store::status_at(const pod& pod, sim_clock::time_point now) const {
    if (pod.deleted) {
        return pod_status::terminated;
    }
    if (pod.pinned) {
        return *pod.pinned;
    }
    const auto elapsed = now - pod.boot_started_at;
    if (elapsed < options_.schedule.provisioning) {
        return pod_status::provisioning;
    }
    if (elapsed < options_.schedule.provisioning + options_.schedule.starting) {
        return pod_status::starting;
    }
    return pod_status::running;
}

json::object pod_store::to_json(const pod& pod, sim_clock::time_point now) const {
    const auto status = status_at(pod, now);
    const bool running = status == pod_status::running;
    const bool billing = status != pod_status::exited && status != pod_status::terminated;
    const auto started_at =
        pod.boot_started_at + options_.schedule.provisioning + options_.schedule.starting;
    const auto text_or = [&](std::string_view key, json::value fallback) {
        const auto* value = pod.spec.if_contains(key);
        return value != nullptr ? *value : fallback;
    };

    json::object out;
    out["id"] = pod.id;
    out["name"] = text_or("name", "");
    out["image"] = text_or("image", "");
    out["args"] = text_or("args", "");
    out["disk"] = text_or("disk", 50);
    out["ports"] = text_or("ports", json::array{});
    out["env"] = text_or("env", json::object{});
    out["registry"] = text_or("registry", nullptr);
    out["status"] = crd::to_string(status);
    json::array actions;
    for (const auto action : actions_for(status)) {
        actions.emplace_back(action);
    }
    out["actions"] = std::move(actions);
    out["mounts"] = text_or("mounts", json::object{});
    out["gpu"] = json::object{{"id", pod.gpu_id}, {"count", pod.gpu_count}};
    out["cloud"] = text_or("cloud", "SECURE");
    const auto* data_centers = pod.spec.if_contains("dataCenterIds");
    out["dataCenterId"] =
        data_centers != nullptr && data_centers->is_array() && !data_centers->as_array().empty()
            ? data_centers->as_array().front()
            : json::value(simulated_data_center);
    out["cudaVersion"] = options_.host_cuda_version;
    out["ssh"] = json::object{{"proxy", nullptr}, {"direct", nullptr}};
    out["template"] = nullptr;
    // Cents, so that sums of prices print without binary noise.
    out["cost"] = billing ? std::round(pod.price_per_gpu * pod.gpu_count * 100) / 100 : 0.0;
    out["locked"] = false;
    out["globalNetworking"] = json::object{{"enabled", false}};

    if (running) {
        json::array ports;
        for (const auto& entry : out["ports"].as_array()) {
            const std::string_view text = entry.as_string();
            const auto slash = text.find('/');
            const auto private_port =
                static_cast<std::uint16_t>(std::stoi(std::string{text.substr(0, slash)}));
            const bool tcp = text.substr(slash + 1) == "tcp";
            json::object port{{"private", private_port}, {"type", tcp ? "tcp" : "http"}};
            const auto mapped = pod.public_ports.find(private_port);
            port["public"] = tcp && mapped != pod.public_ports.end() ? json::value(mapped->second)
                                                                     : json::value(nullptr);
            port["ip"] = tcp ? json::value(simulated_public_ip) : json::value(nullptr);
            ports.push_back(std::move(port));
        }
        const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(now - started_at);
        out["runtime"] = json::object{{"uptime", std::max<std::int64_t>(0, uptime.count())},
                                      {"ports", std::move(ports)}};
    } else {
        out["runtime"] = nullptr;
    }
    out["createdAt"] = format_time(pod.created_at);
    out["startedAt"] = running ? json::value(format_time(started_at)) : json::value(nullptr);
    return out;
}

outcome pod_store::add(const json::object& body, bool check_capacity) {
    if (auto errors = validate_create(body); !errors.empty()) {
        return problem(422, "Request validation failed.", std::move(errors));
    }
    if (body.contains("templateId")) {
        return problem(404, "template not found");
    }
    if (body.contains("cpu") == body.contains("gpu")) {
        return problem(400, body.contains("cpu") ? "exactly one of gpu or cpu may be set"
                                                 : "one of gpu or cpu is required");
    }
    if (body.contains("cpu")) {
        return problem(400, "the simulator places GPU pods only");
    }
    if (const auto* mounts = body.if_contains("mounts");
        mounts != nullptr && mounts->as_object().contains("network")) {
        return problem(400, "network volume not found");
    }

    const auto& gpu = body.at("gpu").as_object();
    const std::string gpu_id{gpu.at("id").as_string()};
    const auto price = options_.prices.find(gpu_id);
    if (price == options_.prices.end()) {
        return problem(400, "no GPU type with id \"" + gpu_id + "\"");
    }
    if (check_capacity) {
        if (unavailable_gpus_.contains(gpu_id)) {
            return problem(400, no_capacity_detail);
        }
        if (const auto* cuda = gpu.if_contains("minCudaVersion");
            cuda != nullptr && version_above(cuda->as_string(), options_.host_cuda_version)) {
            return problem(400, no_capacity_detail);
        }
    }

    pod created;
    created.id = new_id();
    created.spec = body;
    created.gpu_id = gpu_id;
    if (const auto* count = gpu.if_contains("count")) {
        created.gpu_count = static_cast<int>(count->to_number<std::int64_t>());
    }
    created.price_per_gpu = price->second;
    created.created_at = options_.now();
    created.boot_started_at = created.created_at;
    if (const auto* ports = body.if_contains("ports")) {
        for (const auto& entry : ports->as_array()) {
            const std::string_view text = entry.as_string();
            if (text.ends_with("/tcp")) {
                const auto private_port = static_cast<std::uint16_t>(std::stoi(std::string{text}));
                created.public_ports[private_port] = new_public_port();
            }
        }
    }
    pods_.push_back(std::move(created));
    return outcome{201, json::serialize(to_json(pods_.back(), options_.now()))};
}

outcome pod_store::create(std::string_view body) {
    boost::system::error_code error;
    const auto parsed = json::parse(body, error);
    if (error || !parsed.is_object()) {
        return problem(400, "the request body is not a JSON object");
    }
    if (balance_empty_) {
        return problem(402, insufficient_balance_detail);
    }
    auto added = add(parsed.as_object(), true);
    if (added.status == 201) {
        notify_change();
    }
    return added;
}

outcome pod_store::list() {
    const auto now = options_.now();
    json::array pods;
    for (const auto& pod : pods_) {
        if (!pod.deleted) {
            pods.push_back(to_json(pod, now));
        }
    }
    return outcome{200, json::serialize(json::object{{"pods", std::move(pods)}})};
}

outcome pod_store::get(std::string_view id) {
    const auto* pod = find_live(id);
    if (pod == nullptr) {
        return problem(404, "pod not found");
    }
    return outcome{200, json::serialize(to_json(*pod, options_.now()))};
}

outcome pod_store::remove(std::string_view id) {
    auto* pod = find_live(id);
    if (pod == nullptr) {
        return problem(404, "pod not found");
    }
    pod->deleted = true;
    notify_change();
    return outcome{204, {}};
}

outcome pod_store::act(std::string_view id, std::string_view body) {
    auto* pod = find_live(id);
    if (pod == nullptr) {
        return problem(404, "pod not found");
    }
    boost::system::error_code error;
    const auto parsed = json::parse(body, error);
    const auto* object = !error ? parsed.if_object() : nullptr;
    const auto* action = object != nullptr ? object->if_contains("action") : nullptr;
    if (action == nullptr || !action->is_string() || object->size() != 1) {
        return problem(422, "Request validation failed.",
                       {"$: a body with only the string 'action' is required"});
    }
    const std::string_view name = action->as_string();
    if (name != "start" && name != "stop" && name != "restart" && name != "terminate") {
        return problem(422, "Request validation failed.",
                       {"$.action: must be one of start, stop, restart, terminate"});
    }

    const auto now = options_.now();
    const auto allowed = actions_for(status_at(*pod, now));
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        return problem(409,
                       "action \"" + std::string{name} + "\" is not valid for the pod's status");
    }
    if (name == "terminate") {
        pod->deleted = true;
        notify_change();
        return outcome{204, {}};
    }
    if (name == "start" && balance_empty_) {
        return problem(402, insufficient_balance_detail);
    }
    if (name == "stop") {
        pod->pinned = pod_status::exited;
    } else if (name == "start") {
        pod->pinned.reset();
        pod->boot_started_at = now;
    } else {
        // A restart keeps the pod RUNNING with a fresh uptime.
        pod->pinned.reset();
        pod->boot_started_at = now - options_.schedule.provisioning - options_.schedule.starting;
    }
    notify_change();
    return outcome{200, json::serialize(to_json(*pod, now))};
}

outcome pod_store::admin_add(std::string_view body) {
    boost::system::error_code error;
    auto parsed = json::parse(body, error);
    if (error || !parsed.is_object()) {
        return problem(400, "the request body is not a JSON object");
    }
    auto& object = parsed.as_object();

    // Take the admin-only keys out before the body is checked as a create.
    std::optional<std::string> id;
    std::optional<pod_status> status;
    std::optional<sim_clock::time_point> created_at;
    if (const auto* value = object.if_contains("id")) {
        if (!value->is_string() || value->as_string().empty()) {
            return problem(422, "\"id\" must be a non-empty string");
        }
        id = std::string{value->as_string()};
        if (find_live(*id) != nullptr) {
            return problem(409, "a pod with this id exists");
        }
        object.erase("id");
    }
    if (const auto* value = object.if_contains("status")) {
        const auto parsed_status =
            value->is_string() ? crd::parse_pod_status(value->as_string()) : pod_status::unknown;
        if (parsed_status == pod_status::unknown || parsed_status == pod_status::terminated) {
            return problem(422, "\"status\" must be a live RunPod pod status");
        }
        status = parsed_status;
        object.erase("status");
    }
    if (const auto* value = object.if_contains("createdAt")) {
        const auto parsed_time =
            value->is_string() ? crd::parse_rfc3339(value->as_string()) : std::nullopt;
        if (!parsed_time) {
            return problem(422, "\"createdAt\" must be an RFC 3339 time");
        }
        created_at = sim_clock::time_point{parsed_time->time_since_epoch()};
        object.erase("createdAt");
    }

    auto added = add(object, false);
    if (added.status != 201) {
        return added;
    }
    auto& pod = pods_.back();
    if (id) {
        pod.id = *id;
    }
    if (created_at) {
        pod.created_at = *created_at;
        pod.boot_started_at = *created_at;
    }
    if (status) {
        pod.pinned = status;
    }
    notify_change();
    return outcome{201, json::serialize(to_json(pod, options_.now()))};
}

outcome pod_store::admin_set_status(std::string_view id, std::string_view body) {
    auto* pod = find_live(id);
    if (pod == nullptr) {
        return problem(404, "pod not found");
    }
    boost::system::error_code error;
    const auto parsed = json::parse(body, error);
    const auto* object = !error ? parsed.if_object() : nullptr;
    const auto* status = object != nullptr ? object->if_contains("status") : nullptr;
    if (status == nullptr) {
        return problem(422, "a body {\"status\": STATUS or null} is required");
    }
    if (status->is_null()) {
        pod->pinned.reset();
        notify_change();
        return outcome{200, json::serialize(to_json(*pod, options_.now()))};
    }
    const auto parsed_status =
        status->is_string() ? crd::parse_pod_status(status->as_string()) : pod_status::unknown;
    if (parsed_status == pod_status::unknown) {
        return problem(422, "\"status\" must be a RunPod pod status or null");
    }
    if (parsed_status == pod_status::terminated) {
        pod->deleted = true;
        notify_change();
        return outcome{204, {}};
    }
    pod->pinned = parsed_status;
    notify_change();
    return outcome{200, json::serialize(to_json(*pod, options_.now()))};
}

outcome pod_store::admin_set_capacity(std::string_view body) {
    boost::system::error_code error;
    const auto parsed = json::parse(body, error);
    const auto* object = !error ? parsed.if_object() : nullptr;
    const auto* gpu_id = object != nullptr ? object->if_contains("gpuId") : nullptr;
    const auto* available = object != nullptr ? object->if_contains("available") : nullptr;
    if (gpu_id == nullptr || !gpu_id->is_string() || available == nullptr ||
        !available->is_bool()) {
        return problem(422, "a body {\"gpuId\": string, \"available\": boolean} is required");
    }
    const std::string id{gpu_id->as_string()};
    if (available->as_bool()) {
        unavailable_gpus_.erase(id);
    } else {
        unavailable_gpus_.insert(id);
    }
    return outcome{204, {}};
}

json::array pod_store::admin_pods() {
    const auto now = options_.now();
    json::array pods;
    for (const auto& pod : pods_) {
        auto object = to_json(pod, now);
        object["deleted"] = pod.deleted;
        pods.push_back(std::move(object));
    }
    return pods;
}

std::optional<pod_status> pod_store::status_of(std::string_view id) {
    for (const auto& pod : pods_) {
        if (pod.id == id) {
            return status_at(pod, options_.now());
        }
    }
    return std::nullopt;
}

outcome pod_store::admin_set_balance(std::string_view body) {
    boost::system::error_code error;
    const auto parsed = json::parse(body, error);
    const auto* object = !error ? parsed.if_object() : nullptr;
    const auto* empty = object != nullptr ? object->if_contains("empty") : nullptr;
    const auto* pods = object != nullptr ? object->if_contains("pods") : nullptr;
    if (empty == nullptr || !empty->is_bool() || (pods != nullptr && !pods->is_string())) {
        return problem(422,
                       "a body {\"empty\": boolean, \"pods\": \"stop\" | \"terminate\" | "
                       "\"keep\"} is required");
    }
    auto effect = balance_effect::stop;
    if (pods != nullptr) {
        const auto parsed_effect = parse_balance_effect(pods->as_string());
        if (!parsed_effect) {
            return problem(422, "\"pods\" must be stop, terminate or keep");
        }
        effect = *parsed_effect;
    }
    set_balance_empty(empty->as_bool(), effect);
    return outcome{204, {}};
}

void pod_store::set_balance_empty(bool empty, balance_effect effect) {
    balance_empty_ = empty;
    if (!empty || effect == balance_effect::keep) {
        return;
    }
    const auto now = options_.now();
    bool moved = false;
    for (auto& pod : pods_) {
        const auto status = status_at(pod, now);
        if (pod.deleted || status == pod_status::exited) {
            continue;
        }
        if (effect == balance_effect::terminate) {
            pod.deleted = true;
        } else {
            pod.pinned = pod_status::exited;
        }
        moved = true;
    }
    if (moved) {
        notify_change();
    }
}

std::optional<std::string> pod_store::name_of(std::string_view id) const {
    for (const auto& pod : pods_) {
        if (pod.id == id) {
            const auto* name = pod.spec.if_contains("name");
            return name != nullptr && name->is_string() ? std::string{name->as_string()}
                                                        : std::string{};
        }
    }
    return std::nullopt;
}

std::vector<std::string> pod_store::live_pod_ids(std::string_view prefix) const {
    std::vector<std::string> ids;
    for (const auto& pod : pods_) {
        const auto* name = pod.spec.if_contains("name");
        const std::string_view text =
            name != nullptr && name->is_string() ? std::string_view{name->as_string()} : "";
        if (!pod.deleted && text.starts_with(prefix)) {
            ids.push_back(pod.id);
        }
    }
    return ids;
}

void pod_store::notify_change() {
    if (change_listener_) {
        change_listener_();
    }
}

void pod_store::set_change_listener(std::function<void()> listener) {
    change_listener_ = std::move(listener);
}

std::size_t pod_store::live_pod_count() const {
    return static_cast<std::size_t>(
        std::count_if(pods_.begin(), pods_.end(), [](const pod& pod) { return !pod.deleted; }));
}

std::string pod_store::save_state() const {
    json::array pods;
    for (const auto& pod : pods_) {
        if (pod.deleted) {
            continue;
        }
        json::array public_ports;
        for (const auto& [private_port, public_port] : pod.public_ports) {
            public_ports.push_back(
                json::object{{"private", private_port}, {"public", public_port}});
        }
        pods.push_back(
            json::object{{"id", pod.id},
                         {"spec", pod.spec},
                         {"gpuId", pod.gpu_id},
                         {"gpuCount", pod.gpu_count},
                         {"pricePerGpu", pod.price_per_gpu},
                         {"createdAtMs", epoch_milliseconds(pod.created_at)},
                         {"bootStartedAtMs", epoch_milliseconds(pod.boot_started_at)},
                         {"pinnedStatus", pod.pinned ? json::value(crd::to_string(*pod.pinned))
                                                     : json::value(nullptr)},
                         {"publicPorts", std::move(public_ports)}});
    }
    return json::serialize(json::object{{"version", state_version}, {"pods", std::move(pods)}});
}

boost::system::result<pod_store::pod, std::string> pod_store::pod_from_state(
    const json::value& value, const std::string& path) {
    const auto invalid = [&](std::string_view key, std::string_view rule) {
        return boost::system::result<pod, std::string>{
            boost::system::in_place_error,
            path + "." + std::string{key} + ": " + std::string{rule}};
    };
    const auto* object = value.if_object();
    if (object == nullptr) {
        return {boost::system::in_place_error, path + ": must be an object"};
    }

    pod restored;
    const auto id = text_member(*object, "id");
    if (!id) {
        return invalid("id", "a non-empty string is required");
    }
    restored.id = *id;

    const auto* spec = object->if_contains("spec");
    if (spec == nullptr || !spec->is_object()) {
        return invalid("spec", "an object (the create body) is required");
    }
    // The same rules as a create, because the pod's JSON is built from it.
    if (const auto errors = validate_create(spec->as_object()); !errors.empty()) {
        return invalid("spec", errors.front());
    }
    restored.spec = spec->as_object();

    const auto gpu_id = text_member(*object, "gpuId");
    if (!gpu_id) {
        return invalid("gpuId", "a non-empty string is required");
    }
    restored.gpu_id = *gpu_id;
    const auto gpu_count = integer_member(*object, "gpuCount", 1, 1'000);
    if (!gpu_count) {
        return invalid("gpuCount", "an integer in 1..1000 is required");
    }
    restored.gpu_count = static_cast<int>(*gpu_count);
    const auto* price = object->if_contains("pricePerGpu");
    if (price == nullptr || !price->is_number() || !std::isfinite(price->to_number<double>()) ||
        price->to_number<double>() < 0) {
        return invalid("pricePerGpu", "a number of at least 0 is required");
    }
    restored.price_per_gpu = price->to_number<double>();

    const auto created_at = integer_member(*object, "createdAtMs", 0, max_state_time_ms);
    const auto boot_started_at = integer_member(*object, "bootStartedAtMs", 0, max_state_time_ms);
    if (!created_at) {
        return invalid("createdAtMs", "milliseconds since the Unix epoch are required");
    }
    if (!boot_started_at) {
        return invalid("bootStartedAtMs", "milliseconds since the Unix epoch are required");
    }
    restored.created_at = sim_clock::time_point{std::chrono::milliseconds{*created_at}};
    restored.boot_started_at = sim_clock::time_point{std::chrono::milliseconds{*boot_started_at}};

    const auto* pinned = object->if_contains("pinnedStatus");
    if (pinned != nullptr && !pinned->is_null()) {
        const auto status =
            pinned->is_string() ? crd::parse_pod_status(pinned->as_string()) : pod_status::unknown;
        if (status == pod_status::unknown || status == pod_status::terminated) {
            return invalid("pinnedStatus", "a live RunPod pod status or null is required");
        }
        restored.pinned = status;
    }

    const auto* ports = object->if_contains("publicPorts");
    if (ports != nullptr && !ports->is_array()) {
        return invalid("publicPorts", "must be an array");
    }
    for (std::size_t i = 0; ports != nullptr && i < ports->as_array().size(); ++i) {
        const auto* entry = ports->as_array()[i].if_object();
        const auto private_port =
            entry != nullptr ? integer_member(*entry, "private", 1, 65'535) : std::nullopt;
        const auto public_port =
            entry != nullptr ? integer_member(*entry, "public", 1, 65'535) : std::nullopt;
        if (!private_port || !public_port) {
            return invalid("publicPorts[" + std::to_string(i) + "]",
                           "{\"private\": PORT, \"public\": PORT} with ports in 1..65535 is "
                           "required");
        }
        restored.public_ports[static_cast<std::uint16_t>(*private_port)] =
            static_cast<std::uint16_t>(*public_port);
    }
    return restored;
}

boost::system::result<void, std::string> pod_store::load_state(std::string_view text) {
    // A stream parser reports how far it got, so an error can name the line.
    json::stream_parser parser;
    boost::system::error_code error;
    const auto consumed = parser.write(text.data(), text.size(), error);
    if (!error) {
        parser.finish(error);
    }
    if (error) {
        return {boost::system::in_place_error,
                "invalid JSON at " + describe_position(text, consumed) + ": " + error.message()};
    }
    const auto document = parser.release();

    const auto* root = document.if_object();
    if (root == nullptr) {
        return {boost::system::in_place_error, "the document must be a JSON object"};
    }
    const auto supported = "; this program reads state version " + std::to_string(state_version);
    const auto* version = root->if_contains("version");
    if (version == nullptr) {
        return {boost::system::in_place_error, "version: missing" + supported};
    }
    if (!version->is_number() || version->to_number<double>() != state_version) {
        return {boost::system::in_place_error,
                "version: " + json::serialize(*version) + " is not supported" + supported};
    }
    const auto* pods = root->if_contains("pods");
    if (pods == nullptr || !pods->is_array()) {
        return {boost::system::in_place_error, "pods: an array is required"};
    }

    std::vector<pod> restored;
    std::map<std::string, std::size_t, std::less<>> seen;
    for (std::size_t i = 0; i < pods->as_array().size(); ++i) {
        const auto path = "pods[" + std::to_string(i) + "]";
        auto loaded = pod_from_state(pods->as_array()[i], path);
        if (!loaded) {
            return {boost::system::in_place_error, std::move(loaded.error())};
        }
        const auto [earlier, inserted] = seen.emplace(loaded->id, i);
        if (!inserted) {
            return {boost::system::in_place_error, path + ".id: \"" + loaded->id +
                                                       "\" is also the id of pods[" +
                                                       std::to_string(earlier->second) + "]"};
        }
        restored.push_back(std::move(*loaded));
    }
    pods_ = std::move(restored);
    return {};
}

std::optional<balance_effect> parse_balance_effect(std::string_view text) {
    if (text == "keep") {
        return balance_effect::keep;
    }
    if (text == "stop") {
        return balance_effect::stop;
    }
    if (text == "terminate") {
        return balance_effect::terminate;
    }
    return std::nullopt;
}

}  // namespace podsession::providers::simulated
