#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <random>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "controller/kubernetes/api_client.hpp"
#include "controller/kubernetes/lease.hpp"
#include "controller/log.hpp"

namespace podsession::controller::kubernetes {

// Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules
// and defaults. A candidate tries every retry period (plus up to 20 % jitter)
// and takes the lease once its holder has not renewed it for the lease
// duration. The leader renews every retry period, and it stops leading as
// soon as the renew deadline passes without a successful renewal, which is
// before any other replica may take over. Another holder in the record also
// ends leadership at once. On `stop` a leader releases the lease.
class leader_elector {
  public:
    struct options {
        std::string namespace_name = "default";
        std::string name;
        std::string identity;
        std::chrono::milliseconds lease_duration{std::chrono::seconds{15}};
        std::chrono::milliseconds renew_deadline{std::chrono::seconds{10}};
        std::chrono::milliseconds retry_period{std::chrono::seconds{2}};
        std::uint64_t jitter_seed = std::random_device{}();
        // Called on the executor when this replica starts and stops leading.
        std::function<void()> on_started_leading;
        std::function<void()> on_stopped_leading;
    };

    // `client` should time requests out well within the renew deadline.
    leader_elector(boost::asio::any_io_executor executor, api_client& client, options settings);

    // Campaigns, leads and campaigns again after losing the lease, until `stop`.
    [[nodiscard]] boost::asio::awaitable<void> run();

    void stop();

    [[nodiscard]] bool leading() const noexcept { return leading_; }
    [[nodiscard]] const std::string& identity() const noexcept { return options_.identity; }

  private:
    // Makes one attempt to take or renew the lease. Returns whether this
    // replica has the lease now.
    [[nodiscard]] boost::asio::awaitable<bool> try_acquire_or_renew();
    // Takes the lease, renews it while leading, and campaigns again after
    // losing it.
    [[nodiscard]] boost::asio::awaitable<void> campaign();
    [[nodiscard]] boost::asio::awaitable<void> watch_deadline();
    [[nodiscard]] boost::asio::awaitable<void> release();
    [[nodiscard]] boost::asio::awaitable<void> sleep(std::chrono::milliseconds delay);
    void start_leading(std::chrono::steady_clock::time_point renewed_at);
    void stop_leading(std::string_view reason);

    boost::asio::any_io_executor executor_;
    api_client& client_;
    options options_;
    std::string where_;
    std::mt19937_64 random_;
    boost::asio::steady_timer wake_;
    boost::asio::steady_timer deadline_;
    bool stopped_ = false;
    bool leading_ = false;

    // The record as last read or written, and when it last changed as this
    // replica saw it.
    std::optional<lease_record> observed_;
    std::string observed_version_;
    std::chrono::steady_clock::time_point observed_at_{};
    // When the last successful renewal was sent.
    std::chrono::steady_clock::time_point renewed_at_{};
    std::string reported_holder_;
    log::repeat_limiter repeats_{std::chrono::seconds{60}};
};

}  // namespace podsession::controller::kubernetes
