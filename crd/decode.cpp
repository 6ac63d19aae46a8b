#include "crd/decode.hpp"

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <set>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>
#include <boost/json/serialize.hpp>

#include "crd/field_reader.hpp"
#include "crd/gpu_types.hpp"
#include "crd/status_codec.hpp"
#include "crd/validate.hpp"
#include "crd/yaml_json.hpp"
#include "crd/yaml_load.hpp"

namespace podsession::crd {
namespace {

using detail::escape_controls;
using detail::join;
using detail::max_enum_length;
using detail::max_shown_value;
using detail::yaml_type;

// The variable name of an env entry written as `NAME=value`, when the part
// before `=` is a valid name; empty otherwise.
std::string env_name_of_scalar(const YAML::Node& node) {
    if (!node.IsScalar()) {
        return {};
    }
    const std::string& text = node.Scalar();
    const auto equals = text.find('=');
    if (equals == std::string::npos) {
        return {};
    }
    std::string name = text.substr(0, equals);
    return is_env_var_name(name) && name.size() <= 128 ? name : std::string{};
}

std::string gpu_type_hint() {
    std::string hint = "use an alias (";
    bool first = true;
    for (const auto& alias : gpu_aliases()) {
        if (!first) {
            hint += ", ";
        }
        hint += alias.alias;
        first = false;
    }
    hint += ") or an exact RunPod GPU id such as \"NVIDIA H100 80GB HBM3\"";
    return hint;
}

// Walks one document, collecting every violated rule with its path and line.
class document_decoder : public detail::field_reader {
  public:
    document_decoder(const decode_options& options, int first_line,
                     std::vector<field_error>& errors)
        : field_reader{options.unknown, first_line, errors}, options_{options} {}

    void decode_metadata(const YAML::Node& node, object_meta& metadata) {
        const std::string path = "metadata";
        if (is_absent(node)) {
            add_error(node, path, "", "is required");
            return;
        }
        if (!expect_map(node, path)) {
            return;
        }
        check_fields(node, path, {"name", "namespace", "uid", "labels", "annotations"});

        const auto name = read_string(node["name"], "metadata.name", 253);
        if (!name) {
            if (is_absent(node["name"])) {
                add_error(node, "metadata.name", "", "is required");
            }
        } else if (!is_dns1123_subdomain(*name)) {
            add_error(node["name"], "metadata.name", describe(node["name"]),
                      "must be lowercase letters, digits, '-' and '.', starting and ending with a "
                      "letter or digit, with at most 63 characters between dots");
        } else if (name->size() > options_.max_name_length) {
            add_error(node["name"], "metadata.name", "",
                      "is " + std::to_string(name->size()) +
                          " characters long; directory mode "
                          "allows at most " +
                          std::to_string(options_.max_name_length) +
                          ", because the token file .NAME.token.XXXXXX must fit the 255-byte "
                          "file name limit; shorten the name");
        } else {
            metadata.name = *name;
        }

        if (const auto ns = read_string(node["namespace"], "metadata.namespace", 63)) {
            if (is_dns1123_label(*ns)) {
                metadata.namespace_name = *ns;
            } else {
                add_error(
                    node["namespace"], "metadata.namespace", describe(node["namespace"]),
                    "must be 1..63 lowercase letters, digits and '-', starting and ending with "
                    "a letter or digit");
            }
        }

        if (const auto uid = read_string(node["uid"], "metadata.uid", 128)) {
            if (is_session_uid(*uid)) {
                metadata.uid = *uid;
            } else {
                add_error(node["uid"], "metadata.uid", describe(node["uid"]),
                          "must be a lowercase UUID such as 3f1c9e2a-5b7d-4e8f-9a0b-1c2d3e4f5a6b");
            }
        }

        metadata.labels = read_string_map(node["labels"], "metadata.labels");
        metadata.annotations = read_string_map(node["annotations"], "metadata.annotations");
    }

    // Reads what the API server sets. Only objects from the API server carry
    // these, and they are never rejected.
    static void decode_server_metadata(const boost::json::object& metadata, object_meta& result) {
        const auto string_at = [&](std::string_view key) -> std::string {
            const auto* value = metadata.if_contains(key);
            return value && value->is_string() ? std::string{value->get_string()} : std::string{};
        };
        result.resource_version = string_at("resourceVersion");
        if (const auto* generation = metadata.if_contains("generation");
            generation && generation->is_int64()) {
            result.generation = generation->get_int64();
        }
        result.creation_timestamp = parse_rfc3339(string_at("creationTimestamp"));
        result.deletion_timestamp = parse_rfc3339(string_at("deletionTimestamp"));
        if (const auto* finalizers = metadata.if_contains("finalizers");
            finalizers && finalizers->is_array()) {
            for (const auto& finalizer : finalizers->get_array()) {
                if (finalizer.is_string()) {
                    result.finalizers.emplace_back(finalizer.get_string());
                }
            }
        }
        // The server's UID is always accepted as is: it names the object, and
        // rejecting it would leave the object unmanageable.
        result.uid = string_at("uid");
    }

    void decode_gpu(const YAML::Node& node, gpu_spec& gpu) {
        const std::string path = "spec.gpu";
        if (is_absent(node)) {
            add_error(node, path, "", "is required; list the GPU types to try, e.g. types: [h100]");
            return;
        }
        if (!expect_map(node, path)) {
            return;
        }
        check_fields(node, path, {"types", "count"});

        const YAML::Node types = node["types"];
        if (is_absent(types)) {
            add_error(node, "spec.gpu.types", "", "is required; list at least one GPU type");
        } else if (expect_sequence(types, "spec.gpu.types")) {
            if (types.size() == 0 || types.size() > 16) {
                add_error(types, "spec.gpu.types", describe(types), "must hold 1..16 GPU types");
            }
            std::set<std::string> seen;
            for (std::size_t i = 0; i < types.size(); ++i) {
                const auto item_path = index_path("spec.gpu.types", i);
                const auto text = read_string(types[i], item_path, max_enum_length);
                if (!text) {
                    continue;
                }
                const auto resolved = resolve_gpu_type(*text);
                if (!resolved) {
                    add_error(types[i], item_path, describe(types[i]),
                              "is not a known GPU type; " + gpu_type_hint());
                } else if (!seen.insert(*resolved).second) {
                    add_error(types[i], item_path, describe(types[i]),
                              "names the GPU type " + *resolved + " a second time");
                } else {
                    gpu.types.push_back(*resolved);
                }
            }
        }

        if (const auto count = read_integer(node["count"], "spec.gpu.count", 1, 8)) {
            gpu.count = static_cast<int>(*count);
        }
    }

    void decode_ports(const YAML::Node& node, std::vector<port_spec>& ports) {
        const std::string path = "spec.ports";
        if (is_absent(node) || !expect_sequence(node, path)) {
            return;
        }
        if (node.size() > 16) {
            add_error(node, path, describe(node), "must hold at most 16 ports");
        }
        std::set<std::int64_t> seen;
        for (std::size_t i = 0; i < node.size(); ++i) {
            const auto item_path = index_path(path, i);
            const YAML::Node item = node[i];
            if (!expect_map(item, item_path)) {
                continue;
            }
            check_fields(item, item_path, {"port", "protocol"});
            port_spec port;
            const auto number = read_integer(item["port"], item_path + ".port", 1, 65535);
            if (is_absent(item["port"])) {
                add_error(item, item_path + ".port", "", "is required");
            }
            if (const auto protocol = read_enum<port_protocol>(
                    item["protocol"], item_path + ".protocol",
                    {{"http", port_protocol::http}, {"tcp", port_protocol::tcp}})) {
                port.protocol = *protocol;
            }
            if (!number) {
                continue;
            }
            if (!seen.insert(*number).second) {
                add_error(item["port"], item_path + ".port", describe(item["port"]),
                          "is listed twice; each port may appear once");
                continue;
            }
            port.port = static_cast<std::uint16_t>(*number);
            ports.push_back(port);
        }
    }

    // Env values may be secrets, so no message here shows a value, and names
    // are shown only once they parse as variable names.
    void decode_env(const YAML::Node& node, std::vector<env_var>& env) {
        const std::string path = "spec.env";
        if (is_absent(node)) {
            return;
        }
        if (!node.IsSequence()) {
            add_error(node, path, "",
                      std::string{"must be a list of {name, value} mappings, not "} +
                          std::string{yaml_type(node)} + "; the content is not shown");
            return;
        }
        if (node.size() > 64) {
            add_error(node, path, describe(node), "must hold at most 64 variables");
        }
        std::set<std::string> seen;
        for (std::size_t i = 0; i < node.size(); ++i) {
            const auto item_path = index_path(path, i);
            const YAML::Node item = node[i];
            if (!item.IsMap()) {
                add_env_entry_error(item, item_path);
                continue;
            }
            check_env_fields(item, item_path);
            const auto name = read_env_name(item["name"], item_path + ".name");
            // The value is never shown in a message: env values may be secrets.
            std::optional<std::string> value;
            if (!is_absent(item["value"])) {
                if (!item["value"].IsScalar()) {
                    add_error(item["value"], item_path + ".value", "", "must be a string");
                } else if (item["value"].Scalar().size() > 32768) {
                    add_error(item["value"], item_path + ".value", "",
                              "is longer than 32768 characters");
                } else {
                    value = item["value"].Scalar();
                }
            }
            if (!name) {
                if (is_absent(item["name"])) {
                    add_error(item, item_path + ".name", "", "is required");
                }
                continue;
            }
            if (!is_env_var_name(*name)) {
                add_error(item["name"], item_path + ".name", "",
                          "must start with a letter or '_' and hold only letters, digits and '_'");
            } else if (is_reserved_env_name(*name)) {
                add_error(item["name"], item_path + ".name", describe(item["name"]),
                          "is reserved: names starting with ATLAS_ or PODSESSION_ are set by the "
                          "controller; rename the variable");
            } else if (!seen.insert(*name).second) {
                add_error(item["name"], item_path + ".name", describe(item["name"]),
                          "is listed twice; each variable may appear once");
            } else {
                env.push_back({*name, value.value_or("")});
            }
        }
    }

    // Reports every key that a mapping repeats. yaml-cpp keeps the first value
    // silently, whereas PyYAML and kubectl keep the last, so the same file would
    // mean different things to different tools.
    void check_duplicate_keys(const YAML::Node& node, const std::string& path, int depth = 0) {
        // Deeper nesting than any PodSession field is left to the decoder.
        constexpr int max_depth = 16;
        if (depth > max_depth) {
            return;
        }
        if (node.IsSequence()) {
            for (std::size_t i = 0; i < node.size(); ++i) {
                check_duplicate_keys(node[i], index_path(path, i), depth + 1);
            }
            return;
        }
        if (!node.IsMap()) {
            return;
        }
        std::set<std::string> seen;
        for (const auto& entry : node) {
            if (!entry.first.IsScalar()) {
                continue;
            }
            const std::string& key = entry.first.Scalar();
            // Under spec.env a key that is no variable name may be a secret.
            const bool hidden = path.starts_with("spec.env") && !is_env_var_name(key);
            const auto key_path =
                hidden ? path : join_path(path, escape_controls(key.substr(0, max_shown_value)));
            if (!seen.insert(key).second) {
                add_error(entry.first, key_path, "",
                          "is a duplicate key; other YAML tools keep the last value and this "
                          "controller would keep the first, so remove one of them");
            } else {
                check_duplicate_keys(entry.second, key_path, depth + 1);
            }
        }
    }

    void add_env_entry_error(const YAML::Node& item, const std::string& item_path) {
        std::string rule = "is " + std::string{yaml_type(item)};
        if (const auto name = env_name_of_scalar(item); !name.empty()) {
            rule += " for " + name + "; write it as {name: " + name + ", value: ...}";
        } else {
            rule += "; write each variable as {name: NAME, value: ...}";
        }
        rule += "; the value is not shown because it may be a secret";
        add_error(item, item_path, "", std::move(rule));
    }

    // Like check_fields, but shows an unknown key only when it reads as a
    // variable name: `{API_KEY: sk-...}` is reported as API_KEY, and a key
    // that may be the secret itself is not shown.
    void check_env_fields(const YAML::Node& item, const std::string& item_path) {
        if (ignores_unknown_fields()) {
            return;
        }
        for (const auto& entry : item) {
            const std::string& key = entry.first.Scalar();
            if (key == "name" || key == "value") {
                continue;
            }
            if (is_env_var_name(key) && key.size() <= 128) {
                add_error(
                    entry.first, join_path(item_path, key), "",
                    "is not a known field; write the variable as {name: " + key + ", value: ...}");
            } else {
                add_error(entry.first, item_path, "",
                          "has a field that is not name or value; the field is not shown");
            }
        }
    }

    std::optional<std::string> read_env_name(const YAML::Node& node, const std::string& path) {
        if (is_absent(node)) {
            return std::nullopt;
        }
        if (!node.IsScalar()) {
            add_error(node, path, "", "must be a string, not " + std::string{yaml_type(node)});
            return std::nullopt;
        }
        if (node.Scalar().size() > 128) {
            add_error(node, path, "", "is longer than 128 characters");
            return std::nullopt;
        }
        return node.Scalar();
    }

    void decode_spec(const YAML::Node& node, pod_session_spec& spec) {
        const std::string path = "spec";
        if (is_absent(node)) {
            add_error(node, path, "", "is required");
            return;
        }
        if (!expect_map(node, path)) {
            return;
        }
        check_fields(node, path,
                     {"userId", "image", "gpu", "cloud", "dataCenterIds", "ports", "env", "auth",
                      "idleTTLSeconds", "readyTimeoutSeconds", "maxLifetimeSeconds",
                      "containerDiskGb", "volumeGb", "minCudaVersion"});

        spec.user_id = read_string(node["userId"], "spec.userId", 256).value_or("");

        if (const auto image = read_string(node["image"], "spec.image", 512)) {
            if (image->empty() || std::ranges::any_of(*image, [](char c) {
                    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
                })) {
                add_error(node["image"], "spec.image", describe(node["image"]),
                          "must be a container image reference without spaces");
            } else {
                spec.image = *image;
            }
        } else if (is_absent(node["image"])) {
            add_error(node, "spec.image", "", "is required; name the container image to run");
        }

        decode_gpu(node["gpu"], spec.gpu);

        if (const auto cloud = read_enum<cloud_type>(
                node["cloud"], "spec.cloud",
                {{"SECURE", cloud_type::secure}, {"COMMUNITY", cloud_type::community}})) {
            spec.cloud = *cloud;
        }

        const YAML::Node centers = node["dataCenterIds"];
        if (!is_absent(centers) && expect_sequence(centers, "spec.dataCenterIds")) {
            for (std::size_t i = 0; i < centers.size(); ++i) {
                const auto item_path = index_path("spec.dataCenterIds", i);
                if (const auto id = read_string(centers[i], item_path, 32)) {
                    if (is_data_center_id(*id)) {
                        spec.data_center_ids.push_back(*id);
                    } else {
                        add_error(centers[i], item_path, describe(centers[i]),
                                  "must be a RunPod data centre id such as US-TX-3");
                    }
                }
            }
        }

        decode_ports(node["ports"], spec.ports);
        decode_env(node["env"], spec.env);

        if (const auto auth = read_enum<auth_mode>(node["auth"], "spec.auth",
                                                   {{"bearer", auth_mode::bearer},
                                                    {"signedUrl", auth_mode::signed_url},
                                                    {"none", auth_mode::none}})) {
            spec.auth = *auth;
        }

        if (const auto ttl =
                read_integer(node["idleTTLSeconds"], "spec.idleTTLSeconds", 1, 2592000)) {
            spec.idle_ttl = std::chrono::seconds{*ttl};
        }
        if (const auto timeout =
                read_integer(node["readyTimeoutSeconds"], "spec.readyTimeoutSeconds", 1, 86400)) {
            spec.ready_timeout = std::chrono::seconds{*timeout};
        }
        if (const auto lifetime =
                read_integer(node["maxLifetimeSeconds"], "spec.maxLifetimeSeconds", 1, 31536000)) {
            spec.max_lifetime = std::chrono::seconds{*lifetime};
        }
        if (const auto disk =
                read_integer(node["containerDiskGb"], "spec.containerDiskGb", 1, 4096)) {
            spec.container_disk_gb = static_cast<int>(*disk);
        }
        if (const auto volume = read_integer(node["volumeGb"], "spec.volumeGb", 0, 65536)) {
            if (*volume > 0 && *volume < 10) {
                add_error(node["volumeGb"], "spec.volumeGb", describe(node["volumeGb"]),
                          "is not allowed: RunPod volumes start at 10 GB; use 0 for no volume");
            } else {
                spec.volume_gb = static_cast<int>(*volume);
            }
        }
        if (const auto cuda = read_string(node["minCudaVersion"], "spec.minCudaVersion", 16)) {
            if (is_cuda_version(*cuda)) {
                spec.min_cuda_version = *cuda;
            } else {
                add_error(node["minCudaVersion"], "spec.minCudaVersion",
                          describe(node["minCudaVersion"]),
                          "must be major.minor, such as \"12.4\"");
            }
        }
    }

    void decode(const YAML::Node& document, decode_result& result, pod_session& session) {
        // A non-mapping document is often a key or token file that ended up
        // with a .yaml name, so its content is never shown.
        if (!document.IsMap()) {
            add_error(document, "(document)", "",
                      "is " + std::string{yaml_type(document)} +
                          ", not a mapping; a session file holds PodSession objects "
                          "(apiVersion, kind, metadata, spec). Move other files out of the "
                          "sessions directory; the content is not shown");
            return;
        }
        const bool looks_like_object = std::ranges::any_of(
            std::initializer_list<const char*>{"apiVersion", "kind", "metadata", "spec"},
            [&](const char* key) { return document[key].IsDefined(); });
        if (!looks_like_object) {
            add_error(document, "(document)", "",
                      "has none of apiVersion, kind, metadata and spec, so it is not a "
                      "PodSession. Move other files out of the sessions directory; the "
                      "keys are not shown");
            return;
        }
        check_duplicate_keys(document, "");
        check_fields(document, "", {"apiVersion", "kind", "metadata", "spec", "status"});

        const auto api = read_string(document["apiVersion"], "apiVersion", 128);
        if (!api) {
            if (is_absent(document["apiVersion"])) {
                add_error(document, "apiVersion", "", "is required; use podsession.io/v1alpha1");
            }
        } else if (*api != api_version) {
            add_error(document["apiVersion"], "apiVersion", describe(document["apiVersion"]),
                      "is not supported; use podsession.io/v1alpha1");
        }
        const auto object_kind = read_string(document["kind"], "kind", 128);
        if (!object_kind) {
            if (is_absent(document["kind"])) {
                add_error(document, "kind", "", "is required; use PodSession");
            }
        } else if (*object_kind != kind) {
            add_error(document["kind"], "kind", describe(document["kind"]),
                      "is not supported; this controller reads only PodSession objects");
        }

        decode_metadata(document["metadata"], result.metadata);
        if (!options_.read_status && !is_absent(document["status"])) {
            add_error(document["status"], "status", "",
                      "is written by the controller; remove it from the file");
        }
        decode_spec(document["spec"], session.spec);
    }

  private:
    const decode_options& options_;
};

decode_result decode_node(const YAML::Node& document, const decode_options& options,
                          int first_line) {
    decode_result result;
    pod_session session;
    document_decoder decoder{options, first_line, result.errors};
    result.line = decoder.line_of(document);
    decoder.decode(document, result, session);
    if (result.errors.empty()) {
        session.metadata = result.metadata;
        result.session = std::move(session);
    }
    return result;
}

bool is_separator(std::string_view line) {
    if (!line.starts_with("---")) {
        return false;
    }
    const auto rest = line.substr(3);
    return rest.empty() || rest.front() == ' ' || rest.front() == '\t' || rest.front() == '\r';
}

bool holds_content(std::string_view text) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto end = text.find('\n', pos);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        const auto line = text.substr(pos, end - pos);
        const auto first = line.find_first_not_of(" \t\r");
        if (first != std::string_view::npos && line[first] != '#' && line.substr(first) != "...") {
            return true;
        }
        pos = end + 1;
    }
    return false;
}

}  // namespace

std::string field_error::to_string() const {
    std::string text = path;
    text += ": ";
    if (!value.empty()) {
        text += value;
        text += ' ';
    }
    text += rule;
    return text;
}

decode_result decode_pod_session(const YAML::Node& document, const decode_options& options) {
    return decode_node(document, options, 1);
}

decode_result decode_pod_session(const boost::json::value& object) {
    const decode_options options{unknown_fields::ignore, true};
    if (!object.is_object()) {
        decode_result result;
        result.errors.push_back(
            {"(document)", "", "must be a JSON object holding a PodSession", 0});
        return result;
    }

    // Status and server-set metadata are read from the JSON directly; only what
    // users write goes through the validating decoder.
    boost::json::object user_part = object.get_object();
    user_part.erase("status");
    auto result = decode_node(detail::to_yaml(user_part), options, 0);

    if (const auto* metadata = object.get_object().if_contains("metadata");
        metadata && metadata->is_object()) {
        document_decoder::decode_server_metadata(metadata->get_object(), result.metadata);
    }
    if (result.session) {
        result.session->metadata = result.metadata;
        if (const auto* status = object.get_object().if_contains("status")) {
            result.session->status = decode_status(*status);
        }
    }
    return result;
}

std::vector<file_document> decode_pod_session_file(std::string_view text,
                                                   const decode_options& options) {
    std::vector<file_document> documents;

    // Split at `---` lines first, so that a syntax error in one document leaves
    // the others readable.
    std::size_t pos = 0;
    int line = 1;
    int document_line = 1;
    std::string current;
    const auto flush = [&] {
        file_document document;
        if (!holds_content(current)) {
            document.empty = true;
            documents.push_back(std::move(document));
            return;
        }
        YAML::Node node;
        try {
            node = load_yaml(current);
        } catch (const yaml_expansion_error& error) {
            // Marked unparsable rather than invalid, because the decoder cannot
            // walk the document to find its name. The file keeps its sessions.
            document.unparsable = true;
            document.result.line = document_line;
            document.result.errors.push_back(
                {"(document)", "", error.msg,
                 document_line + (error.mark.is_null() ? 0 : error.mark.line)});
            documents.push_back(std::move(document));
            return;
        } catch (const YAML::DeepRecursion& error) {
            document.unparsable = true;
            document.result.line = document_line;
            document.result.errors.push_back(
                {"(document)", "",
                 "nests too deeply for the YAML parser (" + std::to_string(error.depth()) +
                     " levels); a PodSession needs fewer than 10",
                 document_line + (error.mark.is_null() ? 0 : error.mark.line)});
            documents.push_back(std::move(document));
            return;
        } catch (const YAML::Exception& error) {
            document.unparsable = true;
            document.result.line = document_line;
            document.result.errors.push_back(
                {"(document)", "", "is not valid YAML: " + escape_controls(error.msg),
                 document_line + (error.mark.is_null() ? 0 : error.mark.line)});
            documents.push_back(std::move(document));
            return;
        }
        try {
            document.result = decode_node(node, options, document_line);
        } catch (const YAML::Exception& error) {
            // The text parsed, so this is a fault of the decoder, not of the file.
            document.result = {};
            document.result.line = document_line;
            document.result.errors.push_back({"(document)", "",
                                              "could not be decoded: " + escape_controls(error.msg),
                                              document_line});
        }
        documents.push_back(std::move(document));
    };

    while (pos <= text.size()) {
        auto end = text.find('\n', pos);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        const auto current_line = text.substr(pos, end - pos);
        if (is_separator(current_line)) {
            if (!current.empty() || !documents.empty()) {
                flush();
            }
            current.clear();
            // The separator line is blanked rather than dropped so that the
            // document's own line numbers stay right.
            current += '\n';
            document_line = line;
        } else {
            current.append(current_line).push_back('\n');
        }
        pos = end + 1;
        ++line;
    }
    flush();

    std::erase_if(documents, [](const file_document& document) { return document.empty; });
    return documents;
}

}  // namespace podsession::crd
