#pragma once

#include <chrono>
#include <exception>
#include <optional>
#include <utility>

#include <gtest/gtest.h>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

namespace podsession::testing {

// Runs `task` on `io` until it completes and returns its value. Servers on
// the same context keep running meanwhile. The wait is bounded so that a hung
// test fails instead of blocking CTest. The bound is far above any expected
// run time, so it is not a timing assertion.
template <class T>
T run_task(boost::asio::io_context& io, boost::asio::awaitable<T> task,
           std::chrono::seconds bound = std::chrono::seconds{60}) {
    std::optional<T> value;
    std::exception_ptr failure;
    bool done = false;
    boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr error, T result) {
        failure = error;
        if (!error) {
            value.emplace(std::move(result));
        }
        done = true;
    });
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (!done && std::chrono::steady_clock::now() < deadline) {
        io.run_one_for(std::chrono::milliseconds{100});
    }
    if (failure) {
        std::rethrow_exception(failure);
    }
    if (!done) {
        ADD_FAILURE() << "task did not complete within " << bound.count() << " s";
        throw std::runtime_error{"task did not complete"};
    }
    return std::move(*value);
}

inline void run_task(boost::asio::io_context& io, boost::asio::awaitable<void> task,
                     std::chrono::seconds bound = std::chrono::seconds{60}) {
    auto wrapped = [](boost::asio::awaitable<void> inner) -> boost::asio::awaitable<bool> {
        co_await std::move(inner);
        co_return true;
    };
    run_task<bool>(io, wrapped(std::move(task)), bound);
}

}  // namespace podsession::testing
