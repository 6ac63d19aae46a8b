// The reading half of the Kubernetes session store: list, watch, relist.
#include "controller/kubernetes/api_store.hpp"

#include <set>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace podsession::controller::kubernetes {
namespace {

namespace asio = boost::asio;
namespace http = net::http;

// A watch that ends sooner than this without delivering anything counts as a
// failure for the backoff, so a server that closes watches at once is not
// hammered.
constexpr auto min_useful_watch = std::chrono::seconds{1};

std::string scope_of(std::string_view namespace_name) {
    return log::quote(namespace_name.empty() ? std::string_view{"all namespaces"} : namespace_name);
}

}  // namespace

api_store::api_store(asio::any_io_executor executor, api_client& client, options settings)
    : executor_{executor},
      client_{client},
      options_{std::move(settings)},
      events_{executor, client, options_.events},
      backoff_{options_.backoff_base, options_.backoff_max, options_.jitter_seed},
      random_{options_.jitter_seed + 1},
      wake_{executor} {
    if (!options_.make_token) {
        options_.make_token = [] { return auth::generate_session_token(); };
    }
}

void api_store::stop() {
    stopped_ = true;
    wake_.cancel();
    events_.stop();
    if (open_watch_ != nullptr) {
        open_watch_->close();
    }
}

asio::awaitable<void> api_store::sleep(std::chrono::milliseconds delay) {
    wake_.expires_after(delay);
    co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<void> api_store::run(session_sink& sink) {
    spdlog::info("watching PodSessions namespace={} source={}", scope_of(options_.namespace_name),
                 log::quote(client_.config().source));
    sink_ = &sink;
    bool synced = false;
    bool need_list = true;
    while (!stopped_) {
        if (need_list) {
            const auto listed = co_await list_all(sink);
            if (stopped_) {
                break;
            }
            if (!listed) {
                const auto delay = backoff_.next();
                spdlog::warn("listing PodSessions failed, retrying {} delay_ms={}",
                             listed.error().describe(), delay.count());
                co_await sleep(delay);
                continue;
            }
            need_list = false;
            backoff_.reset();
            if (!synced) {
                synced = true;
                sink.mark_synced();
            }
        }

        switch (co_await watch_once(sink)) {
            case watch_outcome::ended:
                break;
            case watch_outcome::gone:
                spdlog::info("watch resourceVersion expired, listing again resource_version={}",
                             resource_version_);
                need_list = true;
                break;
            case watch_outcome::failed:
                if (!stopped_) {
                    co_await sleep(backoff_.next());
                }
                break;
            case watch_outcome::error_event:
                need_list = true;
                if (!stopped_) {
                    co_await sleep(backoff_.next());
                }
                break;
        }
    }
    spdlog::info("stopped watching PodSessions");
}

asio::awaitable<api_result<void>> api_store::list_all(session_sink& sink) {
    std::map<std::string, std::string, std::less<>> seen;
    std::string continue_token;
    std::string version;
    do {
        auto target = podsessions_path(options_.namespace_name) +
                      "?limit=" + std::to_string(options_.page_size);
        if (!continue_token.empty()) {
            target += "&continue=" + encode_query_value(continue_token);
        }
        auto listed = co_await client_.send(get_request(std::move(target)));
        if (stopped_) {
            co_return api_result<void>{};
        }
        if (!listed) {
            co_return listed.error();
        }
        if (!listed->is_object() || !listed->get_object().contains("items") ||
            !listed->get_object().at("items").is_array()) {
            co_return make_api_error(errc::malformed_response, "PodSession list has no items");
        }
        const auto& page = listed->get_object();
        continue_token.clear();
        if (const auto* metadata = page.if_contains("metadata");
            metadata && metadata->is_object()) {
            const auto& fields = metadata->get_object();
            if (const auto* value = fields.if_contains("resourceVersion");
                value && value->is_string()) {
                version = value->get_string();
            }
            if (const auto* value = fields.if_contains("continue"); value && value->is_string()) {
                continue_token = value->get_string();
            }
        }
        for (const auto& item : page.at("items").get_array()) {
            auto session = to_declared_session(item);
            if (session.metadata.name.empty()) {
                continue;
            }
            const auto key = crd::session_key(session.metadata);
            seen[key] = session.metadata.uid;
            sink.upsert(std::move(session));
        }
    } while (!continue_token.empty());

    // Sessions gone while no watch was open.
    for (const auto& [key, uid] : known_) {
        if (!seen.contains(key)) {
            spdlog::info("PodSession gone since the last list session={} uid={}", key, uid);
            sink.forget(key);
        }
    }
    known_ = std::move(seen);
    resource_version_ = version;
    spdlog::info("listed PodSessions namespace={} count={} resource_version={}",
                 scope_of(options_.namespace_name), known_.size(), resource_version_);
    co_return api_result<void>{};
}

asio::awaitable<api_store::watch_outcome> api_store::watch_once(session_sink& sink) {
    std::uniform_int_distribution<std::int64_t> spread{options_.min_watch_timeout.count(),
                                                       options_.max_watch_timeout.count()};
    const auto target = podsessions_path(options_.namespace_name) +
                        "?watch=true&allowWatchBookmarks=true&resourceVersion=" +
                        encode_query_value(resource_version_) +
                        "&timeoutSeconds=" + std::to_string(spread(random_));
    const auto started = std::chrono::steady_clock::now();
    auto opened = co_await client_.watch(target);
    if (stopped_) {
        co_return watch_outcome::ended;
    }
    if (!opened) {
        if (opened.error().is(errc::gone)) {
            co_return watch_outcome::gone;
        }
        if (const auto held_back = repeats_.admit("watch open", std::chrono::steady_clock::now());
            held_back >= 0) {
            spdlog::warn("opening the PodSession watch failed, retrying {} repeats={}",
                         opened.error().describe(), held_back);
        }
        co_return watch_outcome::failed;
    }

    auto& stream = *opened;
    open_watch_ = &stream;
    struct clear_on_exit {
        watch_stream*& slot;
        ~clear_on_exit() { slot = nullptr; }
    } clear{open_watch_};

    std::size_t delivered = 0;
    for (;;) {
        auto next = co_await stream.next();
        if (stopped_) {
            co_return watch_outcome::ended;
        }
        if (!next) {
            if (delivered > 0) {
                // The watch was useful until it broke: retry soon.
                backoff_.reset();
            }
            if (const auto held_back =
                    repeats_.admit("watch broke", std::chrono::steady_clock::now());
                held_back >= 0) {
                spdlog::warn(
                    "PodSession watch broke, resuming from the last resourceVersion "
                    "resource_version={} {} repeats={}",
                    resource_version_, next.error().describe(), held_back);
            }
            co_return watch_outcome::failed;
        }
        if (!*next) {
            // A normal end. One that came at once with no event is backed off.
            if (delivered == 0 && std::chrono::steady_clock::now() - started < min_useful_watch) {
                co_return watch_outcome::failed;
            }
            backoff_.reset();
            co_return watch_outcome::ended;
        }
        const auto& event = **next;
        if (event.type == watch_event_type::error) {
            if (event.error_code == 410) {
                co_return watch_outcome::gone;
            }
            spdlog::warn(
                "PodSession watch sent an error, listing again code={} reason={} message={}",
                event.error_code, event.error_reason, log::quote(event.error_message));
            co_return watch_outcome::error_event;
        }
        apply(sink, event);
        ++delivered;
    }
}

void api_store::apply(session_sink& sink, const watch_event& event) {
    resource_version_ = event.resource_version;
    if (event.type == watch_event_type::bookmark) {
        return;
    }
    auto session = to_declared_session(event.object);
    if (session.metadata.name.empty()) {
        return;
    }
    const auto key = crd::session_key(session.metadata);
    if (event.type == watch_event_type::deleted) {
        const auto found = known_.find(key);
        if (found != known_.end() && found->second != session.metadata.uid) {
            // A DELETED of an older object of the same name; the newer one stays.
            return;
        }
        if (found != known_.end()) {
            known_.erase(found);
        }
        spdlog::debug("PodSession deleted session={} uid={}", key, session.metadata.uid);
        sink.forget(key);
        return;
    }
    known_[key] = session.metadata.uid;
    sink.upsert(std::move(session));
}

}  // namespace podsession::controller::kubernetes
