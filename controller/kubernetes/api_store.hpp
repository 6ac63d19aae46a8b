#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "controller/kubernetes/api_client.hpp"
#include "controller/kubernetes/backoff.hpp"
#include "controller/kubernetes/event_recorder.hpp"
#include "controller/log.hpp"
#include "controller/session_store.hpp"

namespace podsession::controller::kubernetes {

// Kubernetes mode: PodSessions come from the API server by list and watch,
// and the controller writes back status (merge patch on `/status`), the
// cleanup finalizer, the token Secret and Events, all as field manager
// `podsession-controller`.
//
// The watch starts at the list's resourceVersion with bookmarks, resumes from
// the last resourceVersion seen when a stream ends or breaks, and relists on
// 410 Gone. Errors back off exponentially with jitter.
class api_store final : public session_store {
  public:
    struct options {
        // The namespace to watch; empty watches every namespace.
        std::string namespace_name;
        // This replica's identity, the `reportingInstance` of its Events.
        std::string identity;
        // Whether writes may go out now (leader election); unset means always.
        // A refused write fails with `errc::not_leader`.
        std::function<bool()> may_write;
        std::chrono::milliseconds backoff_base{250};
        std::chrono::milliseconds backoff_max{std::chrono::seconds{30}};
        std::uint64_t jitter_seed = std::random_device{}();
        // Items per list page.
        std::size_t page_size = 500;
        // Each watch requests that the server end it after a random time in
        // this range, as client-go's reflector does, so that watches of many
        // replicas do not end together.
        std::chrono::seconds min_watch_timeout{300};
        std::chrono::seconds max_watch_timeout{600};
        // Makes a session token; OpenSSL's generator when unset.
        std::function<boost::system::result<auth::session_token>()> make_token;
        event_recorder::options events;
    };

    api_store(boost::asio::any_io_executor executor, api_client& client, options settings);

    boost::asio::awaitable<void> run(session_sink& sink) override;
    void stop() override;

    boost::asio::awaitable<boost::system::error_code> write_status(
        const crd::object_meta& metadata, const crd::pod_session_status& status) override;
    boost::asio::awaitable<boost::system::result<auth::session_token>> ensure_token(
        const crd::object_meta& metadata) override;
    boost::asio::awaitable<boost::system::error_code> prepare_create(
        const crd::object_meta& metadata) override;
    boost::asio::awaitable<boost::system::error_code> release(
        const crd::object_meta& metadata) override;
    boost::asio::awaitable<void> refresh(const crd::object_meta& metadata) override;
    // A PodSession's UID is the API server's: never adopted.
    bool may_adopt_uid(const crd::object_meta&) const override { return false; }
    bool adopt_uid(const crd::object_meta&, const std::string&) override { return false; }
    void record_event(const crd::object_meta& metadata, const reconcile::note& item) override;
    void describe_token(const crd::object_meta& metadata,
                        crd::pod_session_status& status) const override;

  private:
    enum class watch_outcome {
        // The server ended the stream: watch again from the last version.
        ended,
        // 410 Gone: the version is too old; relist.
        gone,
        // The stream could not open or broke: back off, watch again.
        failed,
        // An ERROR event other than 410: back off, relist.
        error_event,
    };

    [[nodiscard]] boost::asio::awaitable<api_result<void>> list_all(session_sink& sink);
    [[nodiscard]] boost::asio::awaitable<watch_outcome> watch_once(session_sink& sink);
    void apply(session_sink& sink, const watch_event& event);
    [[nodiscard]] boost::asio::awaitable<void> sleep(std::chrono::milliseconds delay);

    // Sends a request, retrying 429 and 5xx a few times within one call.
    [[nodiscard]] boost::asio::awaitable<api_result<boost::json::value>> send_with_retries(
        api_request request);
    [[nodiscard]] bool may_write() const { return !options_.may_write || options_.may_write(); }
    [[nodiscard]] std::string write_query() const;

    // Reads the PodSession and adds or removes the cleanup finalizer with a
    // patch guarded by its resourceVersion, reading again on conflict.
    [[nodiscard]] boost::asio::awaitable<boost::system::error_code> update_finalizers(
        const crd::object_meta& metadata, bool add);

    boost::asio::any_io_executor executor_;
    api_client& client_;
    options options_;
    event_recorder events_;
    backoff backoff_;
    std::mt19937_64 random_;
    boost::asio::steady_timer wake_;
    watch_stream* open_watch_ = nullptr;
    session_sink* sink_ = nullptr;
    bool stopped_ = false;

    // `namespace/name` → UID of every PodSession delivered, to find those
    // deleted while no watch was open.
    std::map<std::string, std::string, std::less<>> known_;
    std::string resource_version_;
    log::repeat_limiter repeats_{std::chrono::seconds{60}};
};

}  // namespace podsession::controller::kubernetes
