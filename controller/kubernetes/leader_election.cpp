#include "controller/kubernetes/leader_election.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "controller/kubernetes/objects.hpp"

namespace podsession::controller::kubernetes {
namespace {

namespace asio = boost::asio;
namespace http = net::http;
using namespace asio::experimental::awaitable_operators;
using steady = std::chrono::steady_clock;

// client-go's JitterFactor: a candidate waits up to this much more than the
// retry period, so that candidates do not try in step.
constexpr double jitter_factor = 1.2;

micro_time now_micro() {
    return std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
}

}  // namespace

leader_elector::leader_elector(asio::any_io_executor executor, api_client& client, options settings)
    : executor_{executor},
      client_{client},
      options_{std::move(settings)},
      where_{options_.namespace_name + "/" + options_.name},
      random_{options_.jitter_seed},
      wake_{executor},
      deadline_{executor} {}

void leader_elector::stop() {
    stopped_ = true;
    wake_.cancel();
    deadline_.cancel();
}

asio::awaitable<void> leader_elector::sleep(std::chrono::milliseconds delay) {
    wake_.expires_after(delay);
    co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
}

void leader_elector::start_leading(steady::time_point renewed_at) {
    leading_ = true;
    renewed_at_ = renewed_at;
    // Re-arms the deadline watch for this term.
    deadline_.cancel();
    spdlog::info("became the leader; acting on sessions lease={} identity={}", where_,
                 options_.identity);
    if (options_.on_started_leading) {
        options_.on_started_leading();
    }
}

void leader_elector::stop_leading(std::string_view reason) {
    if (!leading_) {
        return;
    }
    leading_ = false;
    deadline_.cancel();
    spdlog::error(
        "lost the leader-election lease; stopped acting on sessions lease={} "
        "identity={} reason={}",
        where_, options_.identity, log::quote(reason));
    if (options_.on_stopped_leading) {
        options_.on_stopped_leading();
    }
}

asio::awaitable<void> leader_elector::run() {
    spdlog::info(
        "campaigning for leadership lease={} identity={} lease_duration_ms={} "
        "renew_deadline_ms={} retry_period_ms={}",
        where_, options_.identity, options_.lease_duration.count(), options_.renew_deadline.count(),
        options_.retry_period.count());
    co_await (campaign() && watch_deadline());

    if (leading_) {
        co_await release();
        leading_ = false;
        if (options_.on_stopped_leading) {
            options_.on_stopped_leading();
        }
    }
}

asio::awaitable<void> leader_elector::campaign() {
    std::uniform_real_distribution<double> jitter{1.0, jitter_factor};
    while (!stopped_) {
        if (!leading_) {
            const auto sent_at = steady::now();
            if (co_await try_acquire_or_renew()) {
                if (!stopped_) {
                    start_leading(sent_at);
                }
                continue;
            }
            const auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(
                options_.retry_period * jitter(random_));
            co_await sleep(delay);
            continue;
        }

        co_await sleep(options_.retry_period);
        if (stopped_ || !leading_) {
            continue;
        }
        const auto sent_at = steady::now();
        const bool renewed = co_await try_acquire_or_renew();
        if (!leading_) {
            // The deadline passed while the request was out.
            continue;
        }
        if (renewed) {
            renewed_at_ = sent_at;
        } else if (observed_ &&
                   held_by_other(*observed_, options_.identity, observed_at_, steady::now())) {
            stop_leading("another replica holds the lease: " + observed_->holder_identity);
        } else if (steady::now() - renewed_at_ >= options_.renew_deadline) {
            stop_leading("no renewal within the renew deadline");
        }
    }
}

// Ends leadership at the renew deadline even while a renewal request hangs.
asio::awaitable<void> leader_elector::watch_deadline() {
    while (!stopped_) {
        if (leading_) {
            deadline_.expires_at(renewed_at_ + options_.renew_deadline);
        } else {
            deadline_.expires_at(steady::time_point::max());
        }
        const auto [error] = co_await deadline_.async_wait(asio::as_tuple(asio::use_awaitable));
        if (!error && leading_ && steady::now() >= renewed_at_ + options_.renew_deadline) {
            stop_leading("no renewal within the renew deadline");
        }
    }
}

asio::awaitable<bool> leader_elector::try_acquire_or_renew() {
    const auto path = lease_path(options_.namespace_name, options_.name);
    const auto lease_seconds =
        std::chrono::duration_cast<std::chrono::seconds>(options_.lease_duration);
    const auto now = now_micro();

    auto current = co_await client_.send(get_request(path));
    if (!current && current.error().is(errc::not_found)) {
        auto record = claim_lease({}, options_.identity, lease_seconds, now);
        record.lease_transitions = 0;
        api_request creation{
            http::verb::post,
            lease_path(options_.namespace_name) + "?fieldManager=" + std::string{field_manager},
            encode_lease(options_.namespace_name, options_.name, {}, record), json_type};
        auto created = co_await client_.send(std::move(creation));
        if (!created) {
            if (!created.error().is(errc::already_exists)) {
                spdlog::warn("creating the leader-election lease failed lease={} {}", where_,
                             created.error().describe());
            }
            co_return false;
        }
        observed_ = record;
        observed_version_ = resource_version_of(*created);
        observed_at_ = steady::now();
        co_return true;
    }
    if (!current) {
        if (const auto held_back = repeats_.admit("get", steady::now()); held_back >= 0) {
            spdlog::warn("reading the leader-election lease failed lease={} {} repeats={}", where_,
                         current.error().describe(), held_back);
        }
        co_return false;
    }

    const auto record = decode_lease(*current);
    if (!observed_ || *observed_ != record) {
        observed_ = record;
        observed_at_ = steady::now();
    }
    observed_version_ = resource_version_of(*current);
    if (record.holder_identity != reported_holder_ && record.holder_identity != options_.identity) {
        reported_holder_ = record.holder_identity;
        if (!record.holder_identity.empty()) {
            spdlog::info("following the leader lease={} leader={}", where_, record.holder_identity);
        }
    }
    if (held_by_other(record, options_.identity, observed_at_, steady::now())) {
        co_return false;
    }

    const auto next = claim_lease(record, options_.identity, lease_seconds, now);
    api_request update{
        http::verb::put, path + "?fieldManager=" + std::string{field_manager},
        encode_lease(options_.namespace_name, options_.name, observed_version_, next), json_type};
    auto updated = co_await client_.send(std::move(update));
    if (!updated) {
        // A conflict means another replica wrote first; anything else is logged.
        if (!updated.error().is(errc::conflict)) {
            if (const auto held_back = repeats_.admit("update", steady::now()); held_back >= 0) {
                spdlog::warn("updating the leader-election lease failed lease={} {} repeats={}",
                             where_, updated.error().describe(), held_back);
            }
        }
        co_return false;
    }
    observed_ = next;
    observed_version_ = resource_version_of(*updated);
    observed_at_ = steady::now();
    co_return true;
}

asio::awaitable<void> leader_elector::release() {
    if (!observed_ || observed_->holder_identity != options_.identity) {
        co_return;
    }
    const auto path = lease_path(options_.namespace_name, options_.name);
    const auto next = release_lease(*observed_, now_micro());
    api_request update{
        http::verb::put, path + "?fieldManager=" + std::string{field_manager},
        encode_lease(options_.namespace_name, options_.name, observed_version_, next), json_type};
    const auto released = co_await client_.send(std::move(update));
    if (released) {
        spdlog::info("released the leader-election lease lease={} identity={}", where_,
                     options_.identity);
    } else {
        spdlog::warn(
            "releasing the leader-election lease failed; another replica takes over "
            "once it expires lease={} {}",
            where_, released.error().describe());
    }
}

}  // namespace podsession::controller::kubernetes
