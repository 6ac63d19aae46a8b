#include "controller/clock.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace podsession::controller {
namespace {

namespace asio = boost::asio;

class system_deadline_timer final : public deadline_timer {
  public:
    explicit system_deadline_timer(asio::any_io_executor executor) : timer_{std::move(executor)} {}

    void expires_at(crd::timestamp deadline) override { timer_.expires_at(deadline); }

    void cancel() override { timer_.cancel(); }

    asio::awaitable<boost::system::error_code> wait() override {
        auto [error] = co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
        co_return error;
    }

  private:
    asio::system_timer timer_;
};

}  // namespace

crd::timestamp system_clock::now() const {
    return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

std::unique_ptr<deadline_timer> system_clock::make_timer(asio::any_io_executor executor) {
    return std::make_unique<system_deadline_timer>(std::move(executor));
}

// Waits on a steady timer that never expires by itself; the clock cancels it
// when its deadline passes, and `fired_` tells that cancellation from an abort.
class manual_clock::timer final : public deadline_timer {
  public:
    timer(manual_clock& owner, asio::any_io_executor executor)
        : owner_{owner}, executor_{executor}, waiter_{std::move(executor)} {
        std::lock_guard lock{owner_.mutex_};
        owner_.timers_.insert(this);
    }

    ~timer() override {
        std::lock_guard lock{owner_.mutex_};
        owner_.timers_.erase(this);
    }

    void expires_at(crd::timestamp deadline) override {
        {
            std::lock_guard lock{owner_.mutex_};
            deadline_ = deadline;
            armed_ = true;
            fired_ = false;
        }
        waiter_.cancel();
    }

    void cancel() override {
        {
            std::lock_guard lock{owner_.mutex_};
            armed_ = false;
            fired_ = false;
        }
        waiter_.cancel();
    }

    // Callers treat `operation_aborted` as "look at the deadline again": a wake-up
    // posted by the clock may arrive after a re-arm.
    asio::awaitable<boost::system::error_code> wait() override {
        {
            std::lock_guard lock{owner_.mutex_};
            if (fired_) {
                fired_ = false;
                co_return boost::system::error_code{};
            }
            if (!armed_) {
                co_return asio::error::operation_aborted;
            }
            if (deadline_ <= owner_.now_) {
                armed_ = false;
                co_return boost::system::error_code{};
            }
            fired_ = false;
        }
        waiter_.expires_at(asio::steady_timer::time_point::max());
        co_await waiter_.async_wait(asio::as_tuple(asio::use_awaitable));
        std::lock_guard lock{owner_.mutex_};
        if (fired_) {
            fired_ = false;
            co_return boost::system::error_code{};
        }
        co_return asio::error::operation_aborted;
    }

    // Called with the clock's mutex held.
    void fire_if_due(crd::timestamp now) {
        if (armed_ && deadline_ <= now) {
            armed_ = false;
            fired_ = true;
            asio::post(executor_, [this] { waiter_.cancel(); });
        }
    }

  private:
    manual_clock& owner_;
    asio::any_io_executor executor_;
    asio::steady_timer waiter_;
    crd::timestamp deadline_{};
    bool armed_ = false;
    bool fired_ = false;
};

manual_clock::manual_clock(crd::timestamp start) : now_{start} {}

crd::timestamp manual_clock::now() const {
    std::lock_guard lock{mutex_};
    return now_;
}

std::unique_ptr<deadline_timer> manual_clock::make_timer(asio::any_io_executor executor) {
    return std::make_unique<timer>(*this, std::move(executor));
}

void manual_clock::advance(std::chrono::milliseconds duration) {
    {
        std::lock_guard lock{mutex_};
        now_ += duration;
    }
    fire_due_timers();
}

void manual_clock::set(crd::timestamp time) {
    {
        std::lock_guard lock{mutex_};
        now_ = time;
    }
    fire_due_timers();
}

void manual_clock::fire_due_timers() {
    std::lock_guard lock{mutex_};
    for (auto* pending : timers_) {
        pending->fire_if_due(now_);
    }
}

}  // namespace podsession::controller
