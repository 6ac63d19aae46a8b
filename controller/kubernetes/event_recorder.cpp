#include "controller/kubernetes/event_recorder.hpp"

#include <cstdio>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

namespace podsession::controller::kubernetes {
namespace {

namespace asio = boost::asio;
namespace http = net::http;

// The longest name of a Kubernetes object (a DNS subdomain).
constexpr std::size_t max_name_length = 253;

crd::timestamp now_utc() {
    return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

}  // namespace

event_recorder::event_recorder(asio::any_io_executor executor, api_client& client, options settings)
    : executor_{std::move(executor)}, client_{client}, options_{std::move(settings)} {}

bool event_recorder::take_token(const std::string& uid) {
    const auto now = std::chrono::steady_clock::now();
    auto [found, inserted] = buckets_.try_emplace(uid);
    auto& state = found->second;
    if (inserted) {
        if (buckets_.size() > options_.cache_size) {
            // Rare: many objects at once. Starting every bucket full again
            // errs towards publishing.
            buckets_.clear();
            auto& fresh = buckets_[uid];
            fresh = {options_.burst - 1, now};
            return true;
        }
        state = {options_.burst, now};
    }
    const std::chrono::duration<double> elapsed = now - state.updated;
    const std::chrono::duration<double> refill = options_.refill_interval;
    state.tokens = std::min(options_.burst, state.tokens + elapsed / refill);
    state.updated = now;
    if (state.tokens < 1) {
        return false;
    }
    state.tokens -= 1;
    return true;
}

void event_recorder::record(const crd::object_meta& involved, const reconcile::note& note) {
    if (stopped_) {
        return;
    }
    const auto now = now_utc();
    const std::string key = involved.uid + '\n' +
                            (note.type == reconcile::note_type::warning ? "W" : "N") + '\n' +
                            note.reason + '\n' + note.message;

    auto found = entries_.find(key);
    if (found != entries_.end() && now - found->second.event.last_seen > options_.dedupe_window) {
        // Too old to count as a repeat: a new Event, unless one is being written.
        if (!found->second.in_flight) {
            ages_.erase(found->second.age);
            entries_.erase(found);
            found = entries_.end();
        }
    }
    if (found == entries_.end()) {
        entry fresh;
        char suffix[32];
        // Event names are `<object>.<hex>`, as client-go makes them. The
        // sequence keeps two notes of one millisecond apart, and the object
        // part is cut so the name fits the 253 characters of a name.
        const int suffix_length =
            std::snprintf(suffix, sizeof suffix, ".%llx",
                          static_cast<unsigned long long>(now.time_since_epoch().count()) * 1000 +
                              (sequence_++ % 1000));
        fresh.event.name = involved.name.substr(0, max_name_length - suffix_length) + suffix;
        fresh.event.involved = involved;
        fresh.event.type = note.type;
        fresh.event.reason = note.reason;
        fresh.event.message = note.message;
        fresh.event.count = 1;
        fresh.event.first_seen = now;
        fresh.event.last_seen = now;
        fresh.event.instance = options_.instance;
        ages_.push_back(key);
        fresh.age = std::prev(ages_.end());
        found = entries_.emplace(key, std::move(fresh)).first;
        while (entries_.size() > options_.cache_size && ages_.front() != key) {
            forget_oldest();
        }
    } else {
        found->second.event.count += 1;
        found->second.event.last_seen = now;
        found->second.event.involved.resource_version = involved.resource_version;
        ages_.splice(ages_.end(), ages_, found->second.age);
    }

    auto& item = found->second;
    if (item.in_flight) {
        // The running write publishes the new count when it finishes.
        return;
    }
    if (in_flight_ >= options_.max_in_flight) {
        if (const auto held_back = repeats_.admit("in flight", std::chrono::steady_clock::now());
            held_back >= 0) {
            spdlog::warn("too many Event writes in flight, dropping one reason={} repeats={}",
                         note.reason, held_back);
        }
        return;
    }
    if (!take_token(involved.uid)) {
        if (const auto held_back =
                repeats_.admit("spam " + involved.uid, std::chrono::steady_clock::now());
            held_back >= 0) {
            spdlog::info(
                "Events of a session are rate-limited; counting repeats without writing them "
                "session={} reason={} repeats={}",
                crd::session_key(involved), note.reason, held_back);
        }
        return;
    }
    item.in_flight = true;
    ++in_flight_;
    asio::co_spawn(executor_, publish(key), asio::detached);
}

void event_recorder::forget_oldest() {
    for (auto age = ages_.begin(); age != ages_.end(); ++age) {
        const auto found = entries_.find(*age);
        if (found != entries_.end() && !found->second.in_flight) {
            entries_.erase(found);
            ages_.erase(age);
            return;
        }
    }
}

asio::awaitable<void> event_recorder::publish(std::string key) {
    for (;;) {
        const auto found = entries_.find(key);
        if (found == entries_.end()) {
            break;
        }
        auto& item = found->second;
        if (item.published_count >= item.event.count || stopped_) {
            item.in_flight = false;
            break;
        }
        const auto event = item.event;
        const bool create = item.published_count == 0;

        const auto manager = "?fieldManager=" + std::string{field_manager};
        api_request request =
            create
                ? api_request{http::verb::post, event_path(event.involved.namespace_name) + manager,
                              make_event(event), json_type}
                : api_request{http::verb::patch,
                              event_path(event.involved.namespace_name, event.name) + manager,
                              make_event_repeat_patch(event.count, event.last_seen),
                              merge_patch_type};
        const auto sent = co_await client_.send(std::move(request));

        const auto again = entries_.find(key);
        if (again == entries_.end()) {
            break;
        }
        if (sent) {
            again->second.published_count = event.count;
            continue;
        }
        if (!create && sent.error().is(errc::not_found)) {
            // The Event expired (the API server keeps them for an hour by
            // default): create it again under its name.
            again->second.published_count = 0;
            continue;
        }
        if (const auto held_back = repeats_.admit("event " + sent.error().code.message(),
                                                  std::chrono::steady_clock::now());
            held_back >= 0) {
            spdlog::warn("cannot write Event session={} reason={} {} repeats={}",
                         crd::session_key(event.involved), event.reason, sent.error().describe(),
                         held_back);
        }
        // Dropped: Events are best effort.
        again->second.published_count = again->second.event.count;
    }
    --in_flight_;
}

}  // namespace podsession::controller::kubernetes
