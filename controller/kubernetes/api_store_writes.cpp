// The writing half of the Kubernetes session store: status, finalizer, token
// Secret and Events.
#include <algorithm>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/errc.hpp>

#include "controller/kubernetes/api_store.hpp"

namespace podsession::controller::kubernetes {
namespace {

namespace asio = boost::asio;
namespace http = net::http;

// Attempts of one write: a read-modify-write that keeps conflicting, or a
// server that keeps returning 429 or 5xx, is given up and reported to the
// executor, which retries with its own backoff.
constexpr int max_attempts = 5;
// The longest Retry-After honoured within one call.
constexpr auto max_retry_after = std::chrono::seconds{5};
constexpr auto retry_base = std::chrono::milliseconds{100};

}  // namespace

std::string api_store::write_query() const {
    return "?fieldManager=" + std::string{field_manager};
}

asio::awaitable<api_result<boost::json::value>> api_store::send_with_retries(api_request request) {
    for (int attempt = 1;; ++attempt) {
        auto sent = co_await client_.send(request);
        if (sent || !sent.error().is_retryable() || attempt == max_attempts || stopped_) {
            co_return sent;
        }
        auto delay = retry_base * (1 << attempt);
        if (sent.error().retry_after) {
            delay = std::min<std::chrono::milliseconds>(*sent.error().retry_after, max_retry_after);
        }
        spdlog::debug("Kubernetes API request failed, retrying method={} {} delay_ms={}",
                      http::to_string(request.method), sent.error().describe(), delay.count());
        asio::steady_timer timer{executor_, delay};
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

asio::awaitable<boost::system::error_code> api_store::write_status(
    const crd::object_meta& metadata, const crd::pod_session_status& status) {
    if (!may_write()) {
        co_return make_error_code(errc::not_leader);
    }
    const auto key = crd::session_key(metadata);
    const auto path = podsession_path(metadata.namespace_name, metadata.name, "status");
    for (int attempt = 1;; ++attempt) {
        api_request patch{http::verb::patch, path + write_query(),
                          make_status_patch(metadata, status), merge_patch_type};
        auto patched = co_await send_with_retries(std::move(patch));
        if (patched) {
            co_return boost::system::error_code{};
        }
        const auto& error = patched.error();
        const bool conflict = error.is(errc::conflict) || error.is(errc::invalid);
        if (!conflict || attempt == max_attempts || !may_write()) {
            spdlog::warn("writing PodSession status failed session={} {}", key, error.describe());
            co_return error.code;
        }

        // A conflict, or a rejected UID: read the object again. The status goes
        // only to the object it was planned for.
        auto current = co_await send_with_retries(
            get_request(podsession_path(metadata.namespace_name, metadata.name)));
        if (!current) {
            spdlog::warn("re-reading PodSession after a status conflict failed session={} {}", key,
                         current.error().describe());
            co_return current.error().code;
        }
        if (uid_of(*current) != metadata.uid) {
            spdlog::info("PodSession was replaced; dropping the old one's status session={} uid={}",
                         key, metadata.uid);
            co_return make_error_code(errc::not_found);
        }
        if (error.is(errc::invalid)) {
            spdlog::error("the API server rejected the PodSession status session={} {}", key,
                          error.describe());
            co_return error.code;
        }
        spdlog::info("PodSession status write conflicted, retrying session={} attempt={}", key,
                     attempt);
    }
}

asio::awaitable<boost::system::result<auth::session_token>> api_store::ensure_token(
    const crd::object_meta& metadata) {
    if (!may_write()) {
        co_return make_error_code(errc::not_leader);
    }
    const auto name = token_secret_name(metadata.name);
    const auto where = metadata.namespace_name + "/" + name;
    const auto path = secret_path(metadata.namespace_name, name);

    for (int attempt = 1; attempt <= max_attempts; ++attempt) {
        auto existing = co_await send_with_retries(get_request(path));
        if (existing) {
            const auto owner = owning_session(*existing);
            if (owner && owner->uid == metadata.uid) {
                if (auto token = read_token(*existing)) {
                    co_return std::move(*token);
                }
                spdlog::error(
                    "token Secret holds no valid token under key token; delete it to mint a new "
                    "one (a running pod keeps the old token) secret={}",
                    where);
                co_return boost::system::errc::make_error_code(
                    boost::system::errc::invalid_argument);
            }
            if (!owner) {
                spdlog::error(
                    "a Secret with the token Secret's name exists and no PodSession owns it; "
                    "delete or rename it secret={} session={}",
                    where, crd::session_key(metadata));
                co_return make_error_code(errc::already_exists);
            }
            if (owner->name != metadata.name) {
                // The Secret belongs to another live session: deleting it would
                // take that session's token away.
                spdlog::error(
                    "a Secret with the token Secret's name is owned by another PodSession; "
                    "delete or rename it secret={} session={} owner={}",
                    where, crd::session_key(metadata), log::quote(owner->name));
                co_return make_error_code(errc::already_exists);
            }

            // Left by an earlier PodSession of the same name that the garbage
            // collector has not reached yet: its token must not be reused.
            spdlog::info("deleting the token Secret of an earlier session secret={} owner_uid={}",
                         where, owner->uid);
            const boost::json::value options{{"kind", "DeleteOptions"},
                                             {"apiVersion", "v1"},
                                             {"preconditions", {{"uid", uid_of(*existing)}}}};
            api_request removal{http::verb::delete_, path, options, json_type};
            auto deleted = co_await send_with_retries(std::move(removal));
            if (!deleted && !deleted.error().is(errc::not_found) &&
                !deleted.error().is(errc::conflict)) {
                co_return deleted.error().code;
            }
            continue;
        }
        if (!existing.error().is(errc::not_found)) {
            co_return existing.error().code;
        }

        // No Secret yet: mint the token and store it before any pod gets it.
        auto token = options_.make_token();
        if (!token) {
            co_return token.error();
        }
        if (!may_write()) {
            co_return make_error_code(errc::not_leader);
        }
        api_request creation{http::verb::post, secret_path(metadata.namespace_name) + write_query(),
                             make_token_secret(metadata, *token), json_type};
        auto created = co_await send_with_retries(std::move(creation));
        if (created) {
            spdlog::info("created token Secret secret={} session={}", where,
                         crd::session_key(metadata));
            co_return std::move(*token);
        }
        if (!created.error().is(errc::already_exists)) {
            spdlog::warn("creating the token Secret failed secret={} {}", where,
                         created.error().describe());
            co_return created.error().code;
        }
        // Created meanwhile (a retried request that had gone through): read it.
    }
    co_return make_error_code(errc::conflict);
}

asio::awaitable<boost::system::error_code> api_store::update_finalizers(
    const crd::object_meta& metadata, bool add) {
    const auto key = crd::session_key(metadata);
    const auto path = podsession_path(metadata.namespace_name, metadata.name);
    for (int attempt = 1; attempt <= max_attempts; ++attempt) {
        if (!may_write()) {
            co_return make_error_code(errc::not_leader);
        }
        auto current = co_await send_with_retries(get_request(path));
        if (!current) {
            if (current.error().is(errc::not_found)) {
                // Gone: nothing to keep alive. A create must not go ahead.
                co_return add ? make_error_code(errc::not_found) : boost::system::error_code{};
            }
            co_return current.error().code;
        }
        if (uid_of(*current) != metadata.uid) {
            co_return add ? make_error_code(errc::not_found) : boost::system::error_code{};
        }
        if (add && is_being_deleted(*current)) {
            // No new finalizers on an object being deleted, and no new pod.
            co_return make_error_code(errc::not_found);
        }

        auto finalizers = finalizers_of(*current);
        const auto found = std::ranges::find(finalizers, crd::cleanup_finalizer);
        if (add == (found != finalizers.end())) {
            co_return boost::system::error_code{};
        }
        if (add) {
            finalizers.emplace_back(crd::cleanup_finalizer);
        } else {
            finalizers.erase(found);
        }
        api_request patch{
            http::verb::patch, path + write_query(),
            make_finalizers_patch(metadata.uid, resource_version_of(*current), finalizers),
            merge_patch_type};
        auto patched = co_await send_with_retries(std::move(patch));
        if (patched) {
            spdlog::info("{} finalizer session={} finalizer={}", add ? "added" : "removed", key,
                         crd::cleanup_finalizer);
            co_return boost::system::error_code{};
        }
        if (!patched.error().is(errc::conflict)) {
            spdlog::warn("patching the PodSession finalizers failed session={} {}", key,
                         patched.error().describe());
            co_return patched.error().code;
        }
        spdlog::debug("finalizer patch conflicted, reading again session={} attempt={}", key,
                      attempt);
    }
    co_return make_error_code(errc::conflict);
}

asio::awaitable<boost::system::error_code> api_store::prepare_create(
    const crd::object_meta& metadata) {
    co_return co_await update_finalizers(metadata, true);
}

asio::awaitable<boost::system::error_code> api_store::release(const crd::object_meta& metadata) {
    co_return co_await update_finalizers(metadata, false);
}

asio::awaitable<void> api_store::refresh(const crd::object_meta& metadata) {
    const auto key = crd::session_key(metadata);
    auto current = co_await send_with_retries(
        get_request(podsession_path(metadata.namespace_name, metadata.name)));
    if (!current) {
        // The watch stays the source of truth; the expiry goes ahead on what it
        // delivered.
        spdlog::warn("reading the PodSession before its expiry failed session={} {}", key,
                     current.error().describe());
        co_return;
    }
    if (stopped_ || sink_ == nullptr || uid_of(*current) != metadata.uid) {
        co_return;
    }
    sink_->upsert(to_declared_session(*current));
}

void api_store::record_event(const crd::object_meta& metadata, const reconcile::note& item) {
    if (may_write()) {
        events_.record(metadata, item);
    }
}

void api_store::describe_token(const crd::object_meta& metadata,
                               crd::pod_session_status& status) const {
    status.token_secret_name = token_secret_name(metadata.name);
}

}  // namespace podsession::controller::kubernetes
