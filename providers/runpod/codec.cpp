#include "providers/runpod/codec.hpp"

#include <limits>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace podsession::providers::runpod {

namespace json = boost::json;

namespace {

constexpr std::string_view session_uid_variable = "PODSESSION_UID";
// The mount path of a pod's persistent volume on RunPod.
constexpr std::string_view volume_mount_path = "/workspace";

std::optional<json::value> parse_json(std::string_view body, json::storage_ptr storage = {}) {
    boost::system::error_code error;
    auto value = json::parse(body, error, std::move(storage));
    if (error) {
        return std::nullopt;
    }
    return value;
}

const json::string* string_field(const json::object& object, std::string_view key) {
    const auto* value = object.if_contains(key);
    return value != nullptr ? value->if_string() : nullptr;
}

std::optional<std::int64_t> integer_field(const json::object& object, std::string_view key) {
    const auto* value = object.if_contains(key);
    if (value == nullptr) {
        return std::nullopt;
    }
    if (const auto* integer = value->if_int64()) {
        return *integer;
    }
    if (const auto* unsigned_integer = value->if_uint64();
        unsigned_integer != nullptr &&
        *unsigned_integer <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return static_cast<std::int64_t>(*unsigned_integer);
    }
    return std::nullopt;
}

std::optional<crd::timestamp> time_field(const json::object& object, std::string_view key) {
    const auto* text = string_field(object, key);
    return text != nullptr ? crd::parse_rfc3339(*text) : std::nullopt;
}

std::optional<std::uint16_t> port_number(const json::object& object, std::string_view key) {
    const auto value = integer_field(object, key);
    if (!value || *value < 0 || *value > 65535) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(*value);
}

std::vector<crd::runtime_port> decode_runtime_ports(const json::object& pod) {
    std::vector<crd::runtime_port> ports;
    const auto* runtime = pod.if_contains("runtime");
    if (runtime == nullptr || !runtime->is_object()) {
        return ports;
    }
    const auto* list = runtime->as_object().if_contains("ports");
    if (list == nullptr || !list->is_array()) {
        return ports;
    }
    for (const auto& entry : list->as_array()) {
        if (!entry.is_object()) {
            continue;
        }
        const auto& object = entry.as_object();
        const auto private_port = port_number(object, "private");
        if (!private_port) {
            continue;
        }
        crd::runtime_port port;
        port.private_port = *private_port;
        port.public_port = port_number(object, "public");
        if (const auto* ip = string_field(object, "ip")) {
            port.ip = *ip;
        }
        if (const auto* type = string_field(object, "type")) {
            port.type = *type;
        }
        ports.push_back(std::move(port));
    }
    return ports;
}

decode_result<crd::observed_pod> decode_pod_value(const json::value& value) {
    const auto* object = value.if_object();
    if (object == nullptr) {
        return decode_error{"pod is not a JSON object"};
    }
    const auto* id = string_field(*object, "id");
    if (id == nullptr || id->empty()) {
        return decode_error{"pod has no string \"id\""};
    }

    crd::observed_pod pod;
    pod.id = *id;
    if (const auto* name = string_field(*object, "name")) {
        pod.name = *name;
    }
    if (const auto* status = string_field(*object, "status")) {
        pod.status = crd::parse_pod_status(*status);
    }
    if (const auto* gpu = object->if_contains("gpu"); gpu != nullptr && gpu->is_object()) {
        if (const auto* gpu_id = string_field(gpu->as_object(), "id")) {
            pod.gpu_type = *gpu_id;
        }
        pod.gpu_count = static_cast<int>(integer_field(gpu->as_object(), "count").value_or(1));
    }
    if (const auto* cost = object->if_contains("cost"); cost != nullptr && cost->is_number()) {
        boost::system::error_code error;
        const double dollars = cost->to_number<double>(error);
        if (!error) {
            pod.cost_per_hour = dollars;
        }
    }
    pod.created_at = time_field(*object, "createdAt");
    pod.started_at = time_field(*object, "startedAt");
    if (const auto* env = object->if_contains("env"); env != nullptr && env->is_object()) {
        if (const auto* uid = string_field(env->as_object(), session_uid_variable)) {
            pod.session_uid = std::string{*uid};
        }
    }
    pod.ports = decode_runtime_ports(*object);
    return pod;
}

}  // namespace

std::string encode_create_request(const create_pod_request& request) {
    json::object body;
    body["name"] = request.name;
    body["image"] = request.image;

    json::object gpu;
    gpu["id"] = request.gpu_type_id;
    gpu["count"] = request.gpu_count;
    if (!request.min_cuda_version.empty()) {
        gpu["minCudaVersion"] = request.min_cuda_version;
    }
    body["gpu"] = std::move(gpu);

    body["cloud"] = request.cloud == crd::cloud_type::community ? "COMMUNITY" : "SECURE";
    if (!request.data_center_ids.empty()) {
        json::array ids;
        for (const auto& id : request.data_center_ids) {
            ids.emplace_back(id);
        }
        body["dataCenterIds"] = std::move(ids);
    }
    if (!request.ports.empty()) {
        json::array ports;
        for (const auto& port : request.ports) {
            ports.emplace_back(port);
        }
        body["ports"] = std::move(ports);
    }
    if (!request.env.empty()) {
        json::object env;
        for (const auto& [name, value] : request.env) {
            env[name] = value;
        }
        body["env"] = std::move(env);
    }
    body["disk"] = request.container_disk_gb;
    if (request.volume_gb > 0) {
        body["mounts"] = json::object{
            {"persistent", json::object{{"size", request.volume_gb}, {"path", volume_mount_path}}}};
    }
    return json::serialize(body);
}

decode_result<crd::observed_pod> decode_pod(std::string_view body) {
    const auto value = parse_json(body);
    if (!value) {
        return decode_error{"pod response is not valid JSON"};
    }
    return decode_pod_value(*value);
}

decode_result<std::vector<crd::observed_pod>> decode_pod_list(std::string_view body) {
    // The document lives only while it is decoded, so its many small objects
    // are allocated from one growing buffer and freed with it, not one by one.
    json::monotonic_resource resource;
    const auto value = parse_json(body, &resource);
    if (!value) {
        return decode_error{"pod list response is not valid JSON"};
    }
    const auto* object = value->if_object();
    const auto* pods = object != nullptr ? object->if_contains("pods") : nullptr;
    if (pods == nullptr || !pods->is_array()) {
        return decode_error{"pod list response has no array \"pods\""};
    }

    std::vector<crd::observed_pod> decoded;
    decoded.reserve(pods->as_array().size());
    for (std::size_t i = 0; i < pods->as_array().size(); ++i) {
        auto pod = decode_pod_value(pods->as_array()[i]);
        if (!pod) {
            return decode_error{"pods[" + std::to_string(i) + "]: " + pod.error().message};
        }
        decoded.push_back(std::move(*pod));
    }
    return decoded;
}

std::optional<problem> decode_problem(std::string_view body) {
    const auto value = parse_json(body);
    const auto* object = value ? value->if_object() : nullptr;
    if (object == nullptr) {
        return std::nullopt;
    }
    problem decoded;
    if (const auto* title = string_field(*object, "title")) {
        decoded.title = *title;
    }
    if (const auto* detail = string_field(*object, "detail")) {
        decoded.detail = *detail;
    }
    if (const auto* errors = object->if_contains("errors");
        errors != nullptr && errors->is_array()) {
        for (const auto& entry : errors->as_array()) {
            if (const auto* text = entry.if_string()) {
                decoded.errors.emplace_back(*text);
            }
        }
    }
    if (decoded.title.empty() && decoded.detail.empty() && decoded.errors.empty()) {
        return std::nullopt;
    }
    return decoded;
}

}  // namespace podsession::providers::runpod
