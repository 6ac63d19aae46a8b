#pragma once

#include <chrono>
#include <list>
#include <map>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "controller/kubernetes/api_client.hpp"
#include "controller/kubernetes/objects.hpp"
#include "controller/log.hpp"
#include "reconcile/planner.hpp"

namespace podsession::controller::kubernetes {

// Publishes notes as core v1 Events, as client-go's recorder does. A note that
// repeats (same object, type, reason and message) within the dedupe window
// raises the `count` of its Event instead of creating another. Each object has
// a token bucket, so a note in a loop cannot flood the API. Fire and forget:
// failures are logged, never retried.
class event_recorder {
  public:
    struct options {
        // `reportingInstance` of every Event: this replica's identity.
        std::string instance;
        std::chrono::minutes dedupe_window{10};
        // Distinct notes remembered for deduplication; the oldest go first.
        std::size_t cache_size = 4096;
        // Event writes in flight; further notes are dropped.
        std::size_t max_in_flight = 64;
        // Per object: Event writes allowed at once, and the time to earn one
        // back (client-go's spam filter allows 25 and one per 5 minutes).
        double burst = 25;
        std::chrono::seconds refill_interval{300};
    };

    event_recorder(boost::asio::any_io_executor executor, api_client& client, options settings);

    void record(const crd::object_meta& involved, const reconcile::note& note);

    // Starts no more writes; those in flight finish.
    void stop() { stopped_ = true; }

  private:
    struct entry {
        event_record event;
        // The count the API has; the event is created when it is 0.
        int published_count = 0;
        bool in_flight = false;
        std::list<std::string>::iterator age;
    };
    struct bucket {
        double tokens = 0;
        std::chrono::steady_clock::time_point updated;
    };

    [[nodiscard]] bool take_token(const std::string& uid);
    [[nodiscard]] boost::asio::awaitable<void> publish(std::string key);
    void forget_oldest();

    boost::asio::any_io_executor executor_;
    api_client& client_;
    options options_;
    std::map<std::string, entry, std::less<>> entries_;
    // Keys of `entries_`, the least recently recorded first.
    std::list<std::string> ages_;
    std::map<std::string, bucket, std::less<>> buckets_;
    std::size_t in_flight_ = 0;
    std::uint64_t sequence_ = 0;
    bool stopped_ = false;
    log::repeat_limiter repeats_{std::chrono::seconds{60}};
};

}  // namespace podsession::controller::kubernetes
