#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/result.hpp>

#include "net/server.hpp"
#include "providers/simulated/faults.hpp"
#include "providers/simulated/pod_store.hpp"
#include "providers/simulated/state_file.hpp"

namespace podsession::providers::simulated {

// One quota window of the simulated rate limit.
struct rate_limit_policy {
    std::string name;
    std::int64_t quota = 0;
    std::chrono::seconds length{};
};

// Ten times the example quotas of RunPod's specification (60 per minute, 3000
// per hour, 50000 per day), so that tests rarely meet them by accident.
[[nodiscard]] std::vector<rate_limit_policy> default_rate_limits();

struct simulator_options {
    // The only key that the simulator accepts as `Authorization: Bearer`.
    std::string api_key;
    store_options store;
    std::vector<rate_limit_policy> rate_limits = default_rate_limits();
    // Keeps every RunPod API request and response body for `/_sim/exchanges`.
    // They contain env values: for tests only.
    bool record_exchanges = false;
    // A fault script of the caller's, run before the scripted rules.
    std::shared_ptr<fault_script> faults;
    // The scripted rules to start with (`simulate-runpod --faults FILE`);
    // `/_sim/faults` changes them at run time.
    fault_plan initial_faults;
    // With `server.tls` set, the simulator serves HTTPS.
    net::server_options server;
    // A file that keeps the live pods across restarts (see `state_file`).
    // Without one, the pods end with the simulator.
    std::filesystem::path state_file;
};

// A RunPod API request as `/_sim/requests` lists it, for tests that check
// when requests arrived.
struct request_record {
    operation called;
    unsigned status = 0;
    // The connection was closed without a response.
    bool dropped = false;
    sim_clock::time_point received;
    sim_clock::time_point answered;
};

// A recorded request and response of the RunPod API.
struct exchange_record {
    operation called;
    std::string method;
    std::string target;
    unsigned status = 0;
    std::string request_body;
    std::string response_body;
    std::vector<std::pair<std::string, std::string>> response_headers;
};

// Encodes a record as `/_sim/exchanges` lists it: `operation`, `method`,
// `target`, `status`, `requestBody`, `responseBody` and `responseHeaders`.
[[nodiscard]] boost::json::object to_json(const exchange_record& record);

// A RunPod-compatible HTTP server: `POST/GET /v2/pods`, `GET/DELETE
// /v2/pods/{id}`, `POST /v2/pods/{id}/action`, in the shapes of RunPod's REST
// v2 specification, with `RateLimit` headers on every response and
// `application/problem+json` errors.
//
// The administration API, behind the same key, lives under `/_sim/`, which no
// RunPod path can clash with:
//   GET  /_sim/state              every pod (deleted ones too), call counts,
//                                 requests rejected per rate limit window
//   POST /_sim/pods               add a pod directly (an orphan, another
//                                 controller's pod); see `pod_store::admin_add`
//   PUT  /_sim/pods/{id}/status   pin a status: {"status": "ERROR"}
//   PUT  /_sim/capacity           {"gpuId": "...", "available": false}
//   PUT  /_sim/balance            {"empty": true, "pods": "stop"}
//   GET  /_sim/faults             the fault rules with their counters
//   PUT  /_sim/faults             replace the rules (a fault plan, JSON)
//   POST /_sim/faults             append the rules of a fault plan
//   DELETE /_sim/faults           remove every rule
//   GET  /_sim/requests           the last requests with their times
//   GET  /_sim/exchanges          recorded bodies, with `record_exchanges`
class simulator {
  public:
    using executor_type = boost::asio::any_io_executor;

    // Throws `std::invalid_argument` for an empty API key, and
    // `std::runtime_error` when `options.state_file` cannot be loaded or written.
    simulator(executor_type executor, simulator_options options);
    ~simulator();
    simulator(const simulator&) = delete;
    simulator& operator=(const simulator&) = delete;

    // Binds and starts serving; returns the bound endpoint.
    [[nodiscard]] boost::system::result<boost::asio::ip::tcp::endpoint> listen(
        const boost::asio::ip::tcp::endpoint& endpoint);
    // Stops serving, and saves pending changes of the pods when a state file
    // is set. A failed save is logged.
    void stop();

    // `http://ADDR:PORT`, or `https://` with TLS, of the bound endpoint;
    // empty before `listen`.
    [[nodiscard]] std::string base_url() const;

    [[nodiscard]] pod_store& store() noexcept;
    [[nodiscard]] fault_rules& faults() noexcept;
    [[nodiscard]] const std::deque<request_record>& requests() const noexcept;
    // Requests per operation, authenticated or not.
    [[nodiscard]] std::map<operation, std::size_t> call_counts() const;
    [[nodiscard]] const std::vector<exchange_record>& exchanges() const noexcept;
    // The state file, or null without `options.state_file`.
    [[nodiscard]] simulated::state_file* saved_state() noexcept { return saved_state_.get(); }

    struct state;

  private:
    std::shared_ptr<state> state_;
    std::unique_ptr<simulated::state_file> saved_state_;
    std::unique_ptr<net::server> server_;
    std::optional<boost::asio::ip::tcp::endpoint> endpoint_;
};

// Returns 32 random bytes from OpenSSL, base64url-encoded without padding.
[[nodiscard]] std::string generate_api_key();

// A simulator serving on a loopback port, for `podsession run --provider
// simulated` and for tests.
struct in_process_simulator {
    std::unique_ptr<simulator> server;
    std::string base_url;
    std::string api_key;
};

// Starts a simulator on 127.0.0.1 with a port from the OS. An empty
// `options.api_key` is replaced by `generate_api_key()`. Throws
// `std::system_error` when the port cannot be bound, and `std::runtime_error`
// when `options.state_file` cannot be loaded or written.
[[nodiscard]] in_process_simulator start_in_process(boost::asio::any_io_executor executor,
                                                    simulator_options options = {});

}  // namespace podsession::providers::simulated
