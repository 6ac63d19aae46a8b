#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include "providers/simulated/pod_store.hpp"

namespace podsession::providers::simulated {

// The maximum time a change to the pods waits before it is saved.
inline constexpr std::chrono::milliseconds default_save_interval{1'000};

// Keeps a pod store's live pods in a JSON file (`pod_store::save_state`), so
// that a restarted simulator carries on with them. The file contains the
// pods' env, session tokens included, so it is written with mode 0600 only.
//
// Writing the whole file after every change would cost O(n²) for n creates,
// so a change is saved at most `save_interval` after the previous save, and
// `flush` saves what is pending at a clean stop. A process killed with
// SIGKILL loses the changes of at most the last `save_interval`.
class state_file {
  public:
    // Loads `path` into `store` when the file exists, then saves it once, so a
    // folder that cannot be written fails here rather than at the first change.
    // Throws `std::runtime_error` naming the file, what is wrong and the fix
    // when the file cannot be read, parsed or written.
    state_file(boost::asio::any_io_executor executor, pod_store& store, std::filesystem::path path,
               std::chrono::milliseconds save_interval = default_save_interval);
    // Stops watching the store. Saves nothing: call `flush` first.
    ~state_file();
    state_file(const state_file&) = delete;
    state_file& operator=(const state_file&) = delete;

    // Saves now when changes are pending, and returns the error of the write.
    [[nodiscard]] boost::system::error_code flush();

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    // Completed writes, the one at start included.
    [[nodiscard]] std::uint64_t save_count() const noexcept { return save_count_; }
    [[nodiscard]] bool pending() const noexcept { return pending_; }

  private:
    void on_change();
    void schedule_save();
    void on_timer(std::uint64_t generation);
    [[nodiscard]] boost::system::error_code save();

    pod_store& store_;
    std::filesystem::path path_;
    std::chrono::milliseconds save_interval_;
    boost::asio::steady_timer timer_;
    std::chrono::steady_clock::time_point last_save_{};
    bool pending_ = false;
    bool timer_armed_ = false;
    // Tells a timer handler whether a flush came after its wait was armed.
    std::uint64_t generation_ = 0;
    std::uint64_t save_count_ = 0;
    // Failed timed writes since the last one that succeeded, so repeats are logged once.
    std::uint64_t failures_in_row_ = 0;
    // Expires with the object, so that a timer handler queued before the
    // destructor does not touch it.
    std::shared_ptr<state_file*> alive_;
};

}  // namespace podsession::providers::simulated
