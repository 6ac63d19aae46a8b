#pragma once

#include <memory>
#include <mutex>
#include <set>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/system_timer.hpp>
#include <boost/system/error_code.hpp>

#include "crd/time.hpp"

namespace podsession::controller {

// A timer on a `clock`'s time. One wait at a time.
class deadline_timer {
  public:
    virtual ~deadline_timer() = default;

    // Sets the deadline and aborts a pending wait.
    virtual void expires_at(crd::timestamp deadline) = 0;

    // Aborts a pending wait.
    virtual void cancel() = 0;

    // Completes with no error once the deadline has passed, or with
    // `operation_aborted` when the timer is re-armed or cancelled.
    [[nodiscard]] virtual boost::asio::awaitable<boost::system::error_code> wait() = 0;
};

// Wall-clock time, injected so that tests drive it by hand and never sleep for a
// deadline.
class clock {
  public:
    virtual ~clock() = default;

    [[nodiscard]] virtual crd::timestamp now() const = 0;

    [[nodiscard]] virtual std::unique_ptr<deadline_timer> make_timer(
        boost::asio::any_io_executor executor) = 0;
};

// The system's real-time clock. Deadlines are wall-clock times (touches and
// expiries are), so timers follow the system clock, not a monotonic one.
class system_clock final : public clock {
  public:
    [[nodiscard]] crd::timestamp now() const override;
    [[nodiscard]] std::unique_ptr<deadline_timer> make_timer(
        boost::asio::any_io_executor executor) override;
};

// A clock that moves only when told to. Timers fire from `advance` and `set`.
// Thread-safe, so a test thread can move it while the controller runs.
class manual_clock final : public clock {
  public:
    explicit manual_clock(crd::timestamp start);

    [[nodiscard]] crd::timestamp now() const override;
    [[nodiscard]] std::unique_ptr<deadline_timer> make_timer(
        boost::asio::any_io_executor executor) override;

    void advance(std::chrono::milliseconds duration);
    void set(crd::timestamp time);

    class timer;

  private:
    friend class timer;
    void fire_due_timers();

    mutable std::mutex mutex_;
    crd::timestamp now_;
    std::set<timer*> timers_;
};

}  // namespace podsession::controller
