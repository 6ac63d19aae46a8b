#include "crd/status_codec.hpp"

#include <cmath>
#include <cstdio>

#include <yaml-cpp/yaml.h>
#include <boost/system/errc.hpp>

#include "crd/decode.hpp"
#include "crd/yaml_json.hpp"
#include "crd/yaml_load.hpp"

namespace podsession::crd {
namespace {

void put_time(boost::json::object& object, std::string_view key,
              const std::optional<timestamp>& time) {
    if (time) {
        object[key] = format_rfc3339(*time);
    }
}

void put_string(boost::json::object& object, std::string_view key, const std::string& value) {
    if (!value.empty()) {
        object[key] = value;
    }
}

std::string string_at(const boost::json::object& object, std::string_view key) {
    const auto* value = object.if_contains(key);
    return value && value->is_string() ? std::string{value->get_string()} : std::string{};
}

std::optional<timestamp> time_at(const boost::json::object& object, std::string_view key) {
    return parse_rfc3339(string_at(object, key));
}

std::optional<std::int64_t> integer_at(const boost::json::object& object, std::string_view key) {
    const auto* value = object.if_contains(key);
    if (!value) {
        return std::nullopt;
    }
    if (value->is_int64()) {
        return value->get_int64();
    }
    if (value->is_uint64()) {
        return static_cast<std::int64_t>(value->get_uint64());
    }
    return std::nullopt;
}

}  // namespace

std::string format_usd(double amount) {
    // Round to 1/10000 of a dollar, then drop trailing zeros beyond the cents.
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.4f", std::round(amount * 10000.0) / 10000.0);
    std::string text = buffer;
    while (text.size() > 3 && text.back() == '0' && text[text.size() - 3] != '.') {
        text.pop_back();
    }
    return text;
}

boost::json::value encode_status(const pod_session_status& status) {
    boost::json::object object;
    object["phase"] = to_string(status.phase);
    if (status.reason != session_reason::none) {
        object["reason"] = to_string(status.reason);
    }
    put_string(object, "podId", status.pod_id);
    put_string(object, "podName", status.pod_name);
    put_string(object, "gpuType", status.gpu_type);
    if (status.cost_per_hour) {
        object["costPerHour"] = format_usd(*status.cost_per_hour);
    }
    if (!status.endpoints.empty()) {
        boost::json::array endpoints;
        for (const auto& endpoint : status.endpoints) {
            endpoints.push_back({{"port", endpoint.port},
                                 {"protocol", to_string(endpoint.protocol)},
                                 {"url", endpoint.url}});
        }
        object["endpoints"] = std::move(endpoints);
    }
    put_string(object, "tokenSecretName", status.token_secret_name);
    put_string(object, "tokenFile", status.token_file);
    put_time(object, "createdAt", status.created_at);
    put_time(object, "readyAt", status.ready_at);
    put_time(object, "lastTouched", status.last_touched);
    put_time(object, "expiresAt", status.expires_at);
    put_time(object, "terminatedAt", status.terminated_at);
    put_time(object, "createRequestedAt", status.create_requested_at);
    if (status.observed_generation != 0) {
        object["observedGeneration"] = status.observed_generation;
    }
    if (!status.conditions.empty()) {
        boost::json::array conditions;
        for (const auto& condition : status.conditions) {
            boost::json::object item{{"type", condition.type}, {"status", condition.status}};
            put_string(item, "reason", condition.reason);
            // Kubernetes requires the message key on conditions it validates.
            item["message"] = condition.message;
            put_time(item, "lastTransitionTime", condition.last_transition_time);
            conditions.push_back(std::move(item));
        }
        object["conditions"] = std::move(conditions);
    }
    return object;
}

pod_session_status decode_status(const boost::json::value& value) {
    pod_session_status status;
    if (!value.is_object()) {
        return status;
    }
    const auto& object = value.get_object();

    status.phase = parse_session_phase(string_at(object, "phase")).value_or(session_phase::pending);
    status.reason =
        parse_session_reason(string_at(object, "reason")).value_or(session_reason::none);
    status.pod_id = string_at(object, "podId");
    status.pod_name = string_at(object, "podName");
    status.gpu_type = string_at(object, "gpuType");
    if (const auto cost = string_at(object, "costPerHour"); !cost.empty()) {
        char* end = nullptr;
        const double parsed = std::strtod(cost.c_str(), &end);
        if (end != cost.c_str() && *end == '\0') {
            status.cost_per_hour = parsed;
        }
    }
    if (const auto* endpoints = object.if_contains("endpoints");
        endpoints && endpoints->is_array()) {
        for (const auto& item : endpoints->get_array()) {
            if (!item.is_object()) {
                continue;
            }
            endpoint parsed;
            const auto port = integer_at(item.get_object(), "port").value_or(0);
            parsed.port = port > 0 && port <= 65535 ? static_cast<std::uint16_t>(port) : 0;
            parsed.protocol = string_at(item.get_object(), "protocol") == "tcp"
                                  ? port_protocol::tcp
                                  : port_protocol::http;
            parsed.url = string_at(item.get_object(), "url");
            status.endpoints.push_back(std::move(parsed));
        }
    }
    status.token_secret_name = string_at(object, "tokenSecretName");
    status.token_file = string_at(object, "tokenFile");
    status.created_at = time_at(object, "createdAt");
    status.ready_at = time_at(object, "readyAt");
    status.last_touched = time_at(object, "lastTouched");
    status.expires_at = time_at(object, "expiresAt");
    status.terminated_at = time_at(object, "terminatedAt");
    status.create_requested_at = time_at(object, "createRequestedAt");
    status.observed_generation = integer_at(object, "observedGeneration").value_or(0);
    if (const auto* conditions = object.if_contains("conditions");
        conditions && conditions->is_array()) {
        for (const auto& item : conditions->get_array()) {
            if (!item.is_object()) {
                continue;
            }
            const auto& fields = item.get_object();
            status.conditions.push_back({string_at(fields, "type"), string_at(fields, "status"),
                                         string_at(fields, "reason"), string_at(fields, "message"),
                                         time_at(fields, "lastTransitionTime")});
        }
    }
    return status;
}

boost::json::value encode_spec(const pod_session_spec& spec, bool with_env) {
    boost::json::object object;
    put_string(object, "userId", spec.user_id);
    object["image"] = spec.image;
    boost::json::array types;
    for (const auto& type : spec.gpu.types) {
        types.emplace_back(type);
    }
    object["gpu"] = {{"types", std::move(types)}, {"count", spec.gpu.count}};
    object["cloud"] = to_string(spec.cloud);
    if (!spec.data_center_ids.empty()) {
        boost::json::array centers;
        for (const auto& center : spec.data_center_ids) {
            centers.emplace_back(center);
        }
        object["dataCenterIds"] = std::move(centers);
    }
    boost::json::array ports;
    for (const auto& port : spec.ports) {
        ports.push_back({{"port", port.port}, {"protocol", to_string(port.protocol)}});
    }
    object["ports"] = std::move(ports);
    if (with_env && !spec.env.empty()) {
        boost::json::array env;
        for (const auto& variable : spec.env) {
            env.push_back({{"name", variable.name}, {"value", variable.value}});
        }
        object["env"] = std::move(env);
    }
    object["auth"] = to_string(spec.auth);
    if (spec.idle_ttl) {
        object["idleTTLSeconds"] = spec.idle_ttl->count();
    }
    object["readyTimeoutSeconds"] = spec.ready_timeout.count();
    if (spec.max_lifetime) {
        object["maxLifetimeSeconds"] = spec.max_lifetime->count();
    }
    object["containerDiskGb"] = spec.container_disk_gb;
    object["volumeGb"] = spec.volume_gb;
    put_string(object, "minCudaVersion", spec.min_cuda_version);
    return object;
}

std::string encode_status_file(const object_meta& metadata, const pod_session_status& status,
                               const pod_session_spec* spec) {
    boost::json::object document{
        {"apiVersion", api_version},
        {"kind", kind},
        {"metadata",
         {{"name", metadata.name}, {"namespace", metadata.namespace_name}, {"uid", metadata.uid}}},
    };
    if (spec != nullptr) {
        document["spec"] = encode_spec(*spec, false);
    }
    document["status"] = encode_status(status);
    return "# Written by podsession-controller; edits are overwritten.\n" +
           detail::emit_yaml(document);
}

boost::system::result<status_file> decode_status_file(std::string_view text) {
    YAML::Node node;
    try {
        node = load_yaml(text);
    } catch (const yaml_expansion_error&) {
        // The controller never writes aliases, so another program wrote this
        // file. to_json would copy every aliased subtree.
        return boost::system::errc::make_error_code(boost::system::errc::value_too_large);
    } catch (const YAML::Exception&) {
        return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
    }
    const auto document = detail::to_json(node);
    if (!document.is_object()) {
        return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
    }

    status_file result;
    const auto* metadata = document.get_object().if_contains("metadata");
    if (metadata && metadata->is_object()) {
        result.metadata.name = string_at(metadata->get_object(), "name");
        result.metadata.namespace_name = string_at(metadata->get_object(), "namespace");
        result.metadata.uid = string_at(metadata->get_object(), "uid");
    }
    if (result.metadata.uid.empty()) {
        return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
    }
    if (const auto* status = document.get_object().if_contains("status")) {
        result.status = decode_status(*status);
    }
    if (const auto* spec = document.get_object().if_contains("spec")) {
        // Through the validating decoder, so a damaged spec is ignored rather
        // than half read.
        boost::json::object session{{"apiVersion", api_version},
                                    {"kind", kind},
                                    {"metadata", {{"name", result.metadata.name}}},
                                    {"spec", *spec}};
        if (auto decoded = decode_pod_session(session); decoded.session) {
            result.spec = std::move(decoded.session->spec);
        }
    }
    return result;
}

std::string describe_status_file_error(const boost::system::error_code& error) {
    if (error == boost::system::errc::value_too_large) {
        const yaml_expansion_limits limits;
        return "anchors and aliases expand it too far (past " + std::to_string(limits.max_nodes) +
               " nodes or " + std::to_string(limits.max_scalar_bytes) +
               " bytes of text, or into a cycle), and the controller writes no aliases";
    }
    return "not a status file written by the controller";
}

}  // namespace podsession::crd
