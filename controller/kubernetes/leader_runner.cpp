#include "controller/kubernetes/leader_runner.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "controller/log.hpp"

namespace podsession::controller::kubernetes {
namespace {

namespace asio = boost::asio;

providers::provider_error not_leader_error() {
    return {providers::make_error_code(providers::errc::transient),
            "this replica does not hold the leader-election lease",
            0,
            std::nullopt,
            {}};
}

}  // namespace

void session_relay::upsert(declared_session session) {
    const auto key = crd::session_key(session.metadata);
    if (target_ != nullptr) {
        target_->upsert(session);
    }
    sessions_.insert_or_assign(key, std::move(session));
}

void session_relay::forget(const std::string& key) {
    sessions_.erase(key);
    if (target_ != nullptr) {
        target_->forget(key);
    }
}

void session_relay::mark_synced() {
    synced_ = true;
    if (target_ != nullptr) {
        target_->mark_synced();
    }
}

void session_relay::attach(session_sink& target) {
    target_ = &target;
    for (const auto& [key, session] : sessions_) {
        target.upsert(session);
    }
    if (synced_) {
        target.mark_synced();
    }
}

asio::awaitable<providers::result<crd::observed_pod>> leader_gated_provider::create_pod(
    const providers::create_pod_request& request) {
    if (!may_act_()) {
        co_return not_leader_error();
    }
    co_return co_await inner_.create_pod(request);
}

asio::awaitable<providers::result<void>> leader_gated_provider::terminate_pod(
    std::string_view pod_id) {
    if (!may_act_()) {
        co_return not_leader_error();
    }
    co_return co_await inner_.terminate_pod(pod_id);
}

leader_runner::leader_runner(asio::any_io_executor io, session_relay& relay,
                             std::function<bool()> leading, executor_factory make_executor)
    : io_{io},
      relay_{relay},
      leading_{std::move(leading)},
      make_executor_{std::move(make_executor)},
      signal_{io} {}

void leader_runner::notify() {
    changed_ = true;
    signal_.cancel();
}

void leader_runner::stop() {
    stopped_ = true;
    notify();
}

bool leader_runner::ready() const {
    return relay_.synced() && (current_ == nullptr || current_->ready());
}

asio::awaitable<void> leader_runner::wait_for_change() {
    if (!changed_) {
        signal_.expires_at(asio::steady_timer::time_point::max());
        co_await signal_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    changed_ = false;
}

asio::awaitable<void> leader_runner::run() {
    while (!stopped_) {
        if (!leading_()) {
            co_await wait_for_change();
            continue;
        }

        // A term: the executor gets every session the relay holds.
        auto acting = make_executor_();
        current_ = acting.get();
        relay_.attach(*acting);
        bool finished = false;
        asio::co_spawn(io_, acting->run(), [this, &finished](std::exception_ptr failure) {
            if (failure) {
                try {
                    std::rethrow_exception(failure);
                } catch (const std::exception& error) {
                    spdlog::critical("executor failed error={}", log::quote(error.what()));
                }
            }
            finished = true;
            notify();
        });
        while (!stopped_ && leading_() && !finished) {
            co_await wait_for_change();
        }

        // The term ends: no new action starts; the ones in flight finish.
        acting->stop();
        relay_.detach();
        while (!finished) {
            co_await wait_for_change();
        }
        current_ = nullptr;
        acting.reset();
        spdlog::info("executor of the leadership term stopped");
    }
}

}  // namespace podsession::controller::kubernetes
