#include "controller/kubernetes/objects.hpp"

#include <algorithm>
#include <array>

#include "controller/kubernetes/base64.hpp"
#include "crd/decode.hpp"
#include "crd/status_codec.hpp"

namespace podsession::controller::kubernetes {
namespace {

constexpr std::string_view group_path = "/apis/podsession.io/v1alpha1";

// Every field of the PodSession status. A status patch nulls the ones the new
// status leaves unset.
constexpr std::array status_fields = {"phase",
                                      "reason",
                                      "podId",
                                      "podName",
                                      "gpuType",
                                      "costPerHour",
                                      "endpoints",
                                      "tokenSecretName",
                                      "tokenFile",
                                      "createdAt",
                                      "readyAt",
                                      "lastTouched",
                                      "expiresAt",
                                      "terminatedAt",
                                      "createRequestedAt",
                                      "observedGeneration",
                                      "conditions"};

const boost::json::object* metadata_of(const boost::json::value& object) {
    if (!object.is_object()) {
        return nullptr;
    }
    const auto* metadata = object.get_object().if_contains("metadata");
    return metadata && metadata->is_object() ? &metadata->get_object() : nullptr;
}

std::string string_at(const boost::json::object* object, std::string_view key) {
    if (object == nullptr) {
        return {};
    }
    const auto* value = object->if_contains(key);
    return value && value->is_string() ? std::string{value->get_string()} : std::string{};
}

// Cuts UTF-8 text to at most `limit` bytes without splitting a character.
std::string cut_utf8(std::string_view text, std::size_t limit) {
    if (text.size() <= limit) {
        return std::string{text};
    }
    std::size_t end = limit;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) {
        --end;
    }
    return std::string{text.substr(0, end)};
}

}  // namespace

std::string podsessions_path(std::string_view namespace_name) {
    std::string path{group_path};
    if (!namespace_name.empty()) {
        path.append("/namespaces/").append(namespace_name);
    }
    return path + "/podsessions";
}

std::string podsession_path(std::string_view namespace_name, std::string_view name,
                            std::string_view subresource) {
    auto path = podsessions_path(namespace_name);
    path.append("/").append(name);
    if (!subresource.empty()) {
        path.append("/").append(subresource);
    }
    return path;
}

std::string secret_path(std::string_view namespace_name, std::string_view name) {
    std::string path = "/api/v1/namespaces/" + std::string{namespace_name} + "/secrets";
    if (!name.empty()) {
        path.append("/").append(name);
    }
    return path;
}

std::string event_path(std::string_view namespace_name, std::string_view name) {
    std::string path = "/api/v1/namespaces/" + std::string{namespace_name} + "/events";
    if (!name.empty()) {
        path.append("/").append(name);
    }
    return path;
}

std::string encode_query_value(std::string_view value) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string encoded;
    for (const char c : value) {
        const auto byte = static_cast<unsigned char>(c);
        if (std::isalnum(byte) || c == '-' || c == '_' || c == '.' || c == '~') {
            encoded += c;
        } else {
            encoded += '%';
            encoded += hex[byte >> 4];
            encoded += hex[byte & 15];
        }
    }
    return encoded;
}

std::string token_secret_name(std::string_view session_name) {
    return std::string{session_name} + std::string{token_secret_suffix};
}

declared_session to_declared_session(const boost::json::value& object) {
    // List items come without apiVersion and kind; the decoder checks both.
    boost::json::value complete = object;
    if (complete.is_object()) {
        auto& fields = complete.get_object();
        if (!fields.contains("apiVersion")) {
            fields["apiVersion"] = crd::api_version;
        }
        if (!fields.contains("kind")) {
            fields["kind"] = crd::kind;
        }
    }
    auto decoded = crd::decode_pod_session(complete);

    declared_session session;
    session.metadata = std::move(decoded.metadata);
    if (decoded.session) {
        session.spec = std::move(decoded.session->spec);
    }
    for (const auto& error : decoded.errors) {
        session.errors.push_back(error.to_string());
    }
    // The status is read whether or not the spec is valid: it names the pod.
    if (complete.is_object()) {
        if (const auto* status = complete.get_object().if_contains("status");
            status && status->is_object()) {
            session.status = crd::decode_status(*status);
        }
    }
    session.deleting = session.metadata.deletion_timestamp.has_value();
    return session;
}

boost::json::value make_status_patch(const crd::object_meta& metadata,
                                     const crd::pod_session_status& status) {
    auto encoded = crd::encode_status(status);
    auto& fields = encoded.as_object();
    for (const auto* field : status_fields) {
        if (!fields.contains(field)) {
            fields[field] = nullptr;
        }
    }
    return boost::json::object{{"metadata", {{"uid", metadata.uid}}},
                               {"status", std::move(encoded)}};
}

boost::json::value make_finalizers_patch(std::string_view uid, std::string_view resource_version,
                                         const std::vector<std::string>& finalizers) {
    boost::json::array list;
    for (const auto& finalizer : finalizers) {
        list.emplace_back(finalizer);
    }
    boost::json::object metadata{{"uid", uid}, {"resourceVersion", resource_version}};
    // An empty list removes the field, as kubectl's patches do.
    if (list.empty()) {
        metadata["finalizers"] = nullptr;
    } else {
        metadata["finalizers"] = std::move(list);
    }
    return boost::json::object{{"metadata", std::move(metadata)}};
}

boost::json::value make_token_secret(const crd::object_meta& session,
                                     const auth::session_token& token) {
    boost::json::object owner{{"apiVersion", crd::api_version},
                              {"kind", crd::kind},
                              {"name", session.name},
                              {"uid", session.uid},
                              {"controller", true},
                              {"blockOwnerDeletion", true}};
    boost::json::object metadata{{"name", token_secret_name(session.name)},
                                 {"namespace", session.namespace_name},
                                 {"labels", {{"app.kubernetes.io/managed-by", field_manager}}},
                                 {"ownerReferences", boost::json::array{std::move(owner)}}};
    return boost::json::object{{"apiVersion", "v1"},
                               {"kind", "Secret"},
                               {"metadata", std::move(metadata)},
                               {"type", "Opaque"},
                               {"data", {{token_key, encode_base64(token.reveal())}}}};
}

std::optional<session_owner> owning_session(const boost::json::value& secret) {
    const auto* metadata = metadata_of(secret);
    if (metadata == nullptr) {
        return std::nullopt;
    }
    const auto* owners = metadata->if_contains("ownerReferences");
    if (owners == nullptr || !owners->is_array()) {
        return std::nullopt;
    }
    for (const auto& owner : owners->get_array()) {
        if (!owner.is_object()) {
            continue;
        }
        const auto& fields = owner.get_object();
        if (string_at(&fields, "kind") == crd::kind &&
            string_at(&fields, "apiVersion").starts_with(crd::api_group)) {
            return session_owner{std::string{string_at(&fields, "name")},
                                 std::string{string_at(&fields, "uid")}};
        }
    }
    return std::nullopt;
}

std::optional<auth::session_token> read_token(const boost::json::value& secret) {
    if (!secret.is_object()) {
        return std::nullopt;
    }
    const auto* data = secret.get_object().if_contains("data");
    if (data == nullptr || !data->is_object()) {
        return std::nullopt;
    }
    const auto* encoded = data->get_object().if_contains(token_key);
    if (encoded == nullptr || !encoded->is_string()) {
        return std::nullopt;
    }
    auto decoded = decode_base64(encoded->get_string());
    if (!decoded || decoded->size() != auth::token_length ||
        !std::ranges::all_of(*decoded, [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
        })) {
        return std::nullopt;
    }
    return auth::session_token{std::move(*decoded)};
}

boost::json::value make_event(const event_record& event) {
    const auto& involved = event.involved;
    boost::json::object reference{{"apiVersion", crd::api_version},
                                  {"kind", crd::kind},
                                  {"namespace", involved.namespace_name},
                                  {"name", involved.name},
                                  {"uid", involved.uid}};
    if (!involved.resource_version.empty()) {
        reference["resourceVersion"] = involved.resource_version;
    }
    return boost::json::object{
        {"apiVersion", "v1"},
        {"kind", "Event"},
        {"metadata", {{"name", event.name}, {"namespace", involved.namespace_name}}},
        {"involvedObject", std::move(reference)},
        {"reason", event.reason},
        {"message", cut_utf8(event.message, max_event_message)},
        {"type", event.type == reconcile::note_type::warning ? "Warning" : "Normal"},
        {"source", {{"component", field_manager}}},
        {"reportingComponent", field_manager},
        {"reportingInstance", event.instance},
        {"firstTimestamp", crd::format_rfc3339(event.first_seen)},
        {"lastTimestamp", crd::format_rfc3339(event.last_seen)},
        {"count", event.count}};
}

boost::json::value make_event_repeat_patch(int count, crd::timestamp last_seen) {
    return boost::json::object{{"count", count}, {"lastTimestamp", crd::format_rfc3339(last_seen)}};
}

std::string uid_of(const boost::json::value& object) {
    return string_at(metadata_of(object), "uid");
}

std::string resource_version_of(const boost::json::value& object) {
    return string_at(metadata_of(object), "resourceVersion");
}

std::vector<std::string> finalizers_of(const boost::json::value& object) {
    std::vector<std::string> finalizers;
    const auto* metadata = metadata_of(object);
    if (metadata == nullptr) {
        return finalizers;
    }
    if (const auto* list = metadata->if_contains("finalizers"); list && list->is_array()) {
        for (const auto& item : list->get_array()) {
            if (item.is_string()) {
                finalizers.emplace_back(item.get_string());
            }
        }
    }
    return finalizers;
}

bool is_being_deleted(const boost::json::value& object) {
    return !string_at(metadata_of(object), "deletionTimestamp").empty();
}

}  // namespace podsession::controller::kubernetes
