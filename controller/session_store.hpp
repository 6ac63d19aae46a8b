#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include "auth/token.hpp"
#include "crd/pod_session.hpp"
#include "reconcile/planner.hpp"

namespace podsession::controller {

// A session as its source declares it.
struct declared_session {
    crd::object_meta metadata;
    // The spec if it is valid; unset when `errors` is not empty.
    std::optional<crd::pod_session_spec> spec;
    // Validation errors, each with its field path, value and rule.
    std::vector<std::string> errors;
    // The status the controller last persisted for this session, if any.
    std::optional<crd::pod_session_status> status;
    // Deleted and waiting for its pod to be confirmed gone.
    bool deleting = false;
    // The spec comes from the controller's own record, not from the source: the
    // session keeps its pod on it and is expired on time, but gets no new pod.
    bool spec_is_recorded = false;
};

// Receives what a source sees. Called on the controller's executor.
class session_sink {
  public:
    virtual ~session_sink() = default;

    virtual void upsert(declared_session session) = 0;

    // The session is gone from the source without waiting for cleanup (its
    // finalizer was removed, or its status file never named a pod).
    virtual void forget(const std::string& key) = 0;

    // The source has delivered its initial state.
    virtual void mark_synced() = 0;
};

// Where desired state comes from and where the controller writes back: the
// Kubernetes API or a directory of YAML files.
class session_store {
  public:
    virtual ~session_store() = default;

    // Streams the sessions to `sink` until stopped.
    [[nodiscard]] virtual boost::asio::awaitable<void> run(session_sink& sink) = 0;

    virtual void stop() = 0;

    [[nodiscard]] virtual boost::asio::awaitable<boost::system::error_code> write_status(
        const crd::object_meta& metadata, const crd::pod_session_status& status) = 0;

    // Returns the session's token, creating and persisting it first if it has
    // none yet. Called before every create, so no pod exists whose token is not
    // stored.
    [[nodiscard]] virtual boost::asio::awaitable<boost::system::result<auth::session_token>>
    ensure_token(const crd::object_meta& metadata) = 0;

    // Readies the session for its first pod (Kubernetes: adds the cleanup
    // finalizer), so a deletion cannot lose track of the pod.
    [[nodiscard]] virtual boost::asio::awaitable<boost::system::error_code> prepare_create(
        const crd::object_meta& metadata) = 0;

    // Lets a deleted session go once its pod is confirmed gone (Kubernetes:
    // removes the finalizer; directory: removes the status and token files).
    [[nodiscard]] virtual boost::asio::awaitable<boost::system::error_code> release(
        const crd::object_meta& metadata) = 0;

    // Returns whether the store minted the session's UID for lack of a record
    // (directory mode: no status file, no metadata.uid) while its token is still
    // stored. A pod named for an earlier UID may then be the session's own.
    [[nodiscard]] virtual bool may_adopt_uid(const crd::object_meta& metadata) const = 0;

    // Gives the session `uid` instead, the one of a pod found under its name,
    // and hands the session to the sink again. Returns false where the store
    // cannot (Kubernetes UIDs belong to the API server).
    virtual bool adopt_uid(const crd::object_meta& metadata, const std::string& uid) = 0;

    // Reads the session from its source again and hands any change to the sink
    // before it returns. Called before an idle expiry: a touch may be on its
    // way (a file event not yet read, a watch event not yet delivered), and a
    // cull of an active user costs more than one read.
    [[nodiscard]] virtual boost::asio::awaitable<void> refresh(
        const crd::object_meta& metadata) = 0;

    // Publishes a note as an Event where the store has them. Fire and forget.
    virtual void record_event(const crd::object_meta& metadata, const reconcile::note& item) = 0;

    // Where the token is published, for the status: the Secret's name or the file.
    virtual void describe_token(const crd::object_meta& metadata,
                                crd::pod_session_status& status) const = 0;
};

}  // namespace podsession::controller
