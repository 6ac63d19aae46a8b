#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "auth/token.hpp"
#include "controller/session_store.hpp"
#include "crd/pod_session.hpp"
#include "reconcile/planner.hpp"

// The Kubernetes objects the controller reads and writes, as pure functions
// from values to JSON and back: API paths, the PodSession, status and
// finalizer patches, the token Secret and Events.
namespace podsession::controller::kubernetes {

// The field manager of every write, so that `kubectl get --show-managed-fields`
// names the controller.
inline constexpr std::string_view field_manager = "podsession-controller";
inline constexpr std::string_view token_secret_suffix = "-podsession";
inline constexpr std::string_view token_key = "token";

// `/apis/podsession.io/v1alpha1/podsessions`, or the namespace's collection.
[[nodiscard]] std::string podsessions_path(std::string_view namespace_name);
// One PodSession, or its subresource (`status`).
[[nodiscard]] std::string podsession_path(std::string_view namespace_name, std::string_view name,
                                          std::string_view subresource = {});
[[nodiscard]] std::string secret_path(std::string_view namespace_name, std::string_view name = {});
[[nodiscard]] std::string event_path(std::string_view namespace_name, std::string_view name = {});

// Percent-encodes a query parameter value (continue tokens, resource versions).
[[nodiscard]] std::string encode_query_value(std::string_view value);

// `<name>-podsession`.
[[nodiscard]] std::string token_secret_name(std::string_view session_name);

// Turns a PodSession from the API (a list item or a watch event's object) into
// what the executor plans from: metadata, the spec or its validation errors,
// the status the controller last wrote, and whether it is being deleted.
[[nodiscard]] declared_session to_declared_session(const boost::json::value& object);

// The merge patch for `/status`: the whole status, with an explicit null for
// every status field the new status leaves unset, because a merge patch keeps
// fields it does not mention. It carries `metadata.uid`, so the write fails
// (409 or 422) instead of landing on a new object of the same name.
[[nodiscard]] boost::json::value make_status_patch(const crd::object_meta& metadata,
                                                   const crd::pod_session_status& status);

// The merge patch that sets `metadata.finalizers`, guarded by the UID and
// resourceVersion it was computed from (409 Conflict when the object changed).
[[nodiscard]] boost::json::value make_finalizers_patch(std::string_view uid,
                                                       std::string_view resource_version,
                                                       const std::vector<std::string>& finalizers);

// The Secret `<name>-podsession` with the token under `token`, owned by the
// PodSession so that the garbage collector deletes it with the session.
[[nodiscard]] boost::json::value make_token_secret(const crd::object_meta& session,
                                                   const auth::session_token& token);

// The PodSession named as a Secret's owner, if one is.
struct session_owner {
    std::string name;
    std::string uid;
};
[[nodiscard]] std::optional<session_owner> owning_session(const boost::json::value& secret);

// The token in a Secret's `data.token`, if it contains a well-formed one (43
// characters of base64url).
[[nodiscard]] std::optional<auth::session_token> read_token(const boost::json::value& secret);

// A core v1 Event about a PodSession.
struct event_record {
    std::string name;
    crd::object_meta involved;
    reconcile::note_type type = reconcile::note_type::normal;
    std::string reason;
    std::string message;
    int count = 1;
    crd::timestamp first_seen;
    crd::timestamp last_seen;
    // `reportingInstance`: the replica's identity.
    std::string instance;
};

// Event messages are cut to this many bytes, the limit of events.k8s.io notes.
inline constexpr std::size_t max_event_message = 1024;

[[nodiscard]] boost::json::value make_event(const event_record& event);

// The merge patch that records a repeat of an Event.
[[nodiscard]] boost::json::value make_event_repeat_patch(int count, crd::timestamp last_seen);

// The metadata of an API object, read from its JSON.
[[nodiscard]] std::string uid_of(const boost::json::value& object);
[[nodiscard]] std::string resource_version_of(const boost::json::value& object);
[[nodiscard]] std::vector<std::string> finalizers_of(const boost::json::value& object);
[[nodiscard]] bool is_being_deleted(const boost::json::value& object);

}  // namespace podsession::controller::kubernetes
