#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

#include "crd/observed_pod.hpp"

// A RunPod-compatible simulator: the pod store here, its HTTP front in
// simulator.hpp.
namespace podsession::providers::simulated {

using sim_clock = std::chrono::system_clock;
using clock_function = std::function<sim_clock::time_point()>;

// How long a new (or restarted) pod stays in each status before RUNNING.
struct boot_schedule {
    std::chrono::milliseconds provisioning{5'000};
    std::chrono::milliseconds starting{5'000};
};

// USD per GPU-hour of each GPU type the simulator can place.
using price_table = std::map<std::string, double, std::less<>>;

// Typical on-demand Secure Cloud prices from a public price catalog, the
// upper end where the catalog gives a range. Every other known GPU id costs
// `unlisted_gpu_price`.
[[nodiscard]] price_table default_prices();
// A made-up price for GPU types the catalog sample does not list.
inline constexpr double unlisted_gpu_price = 1.00;

struct store_options {
    boot_schedule schedule;
    price_table prices = default_prices();
    // The CUDA version every simulated host reports (`major.minor`).
    std::string host_cuda_version = "12.8";
    clock_function now = [] { return sim_clock::now(); };
    // Seeds pod ids and public ports; 0 draws a seed from std::random_device.
    std::uint64_t seed = 0;
};

// The format version that `pod_store::save_state` writes, and the only one
// that `load_state` reads.
inline constexpr int state_version = 1;

// The action RunPod takes on running pods when the account's balance runs out.
enum class balance_effect { keep, stop, terminate };

// Parses `keep`, `stop` or `terminate`.
[[nodiscard]] std::optional<balance_effect> parse_balance_effect(std::string_view text);

// The result of a store operation: an HTTP status and a JSON body, which is
// a problem document (`ErrorResponse`) for a status of 400 or more and empty
// for 204.
struct outcome {
    unsigned status = 200;
    std::string body;
};

// Builds an `ErrorResponse` outcome.
[[nodiscard]] outcome problem(unsigned status, std::string_view detail,
                              std::vector<std::string> errors = {});

// The simulated account's pods. Statuses advance with the injected clock each
// time the store is read, so tests move pods through their life by moving the
// clock. Not thread-safe: one executor drives it.
class pod_store {
  public:
    explicit pod_store(store_options options = {});
    ~pod_store();
    pod_store(const pod_store&) = delete;
    pod_store& operator=(const pod_store&) = delete;

    // The RunPod pod API: bodies in, status and body out.
    [[nodiscard]] outcome create(std::string_view body);
    [[nodiscard]] outcome list();
    [[nodiscard]] outcome get(std::string_view id);
    [[nodiscard]] outcome remove(std::string_view id);
    [[nodiscard]] outcome act(std::string_view id, std::string_view body);

    // Administration, outside RunPod's API.
    // Adds a pod as if another client had created it: the body of a create,
    // plus optional `id`, `status` and `createdAt` (RFC 3339).
    [[nodiscard]] outcome admin_add(std::string_view body);
    // Pins a pod's status: `{"status": "ERROR"}`; `TERMINATED` deletes it.
    // `{"status": null}` returns it to the boot schedule.
    [[nodiscard]] outcome admin_set_status(std::string_view id, std::string_view body);
    // `{"gpuId": "...", "available": false}` makes creates of that GPU type
    // fail with 400, as RunPod responds when it has no capacity.
    [[nodiscard]] outcome admin_set_capacity(std::string_view body);
    // Every pod, deleted ones included (with `"deleted": true`).
    [[nodiscard]] boost::json::array admin_pods();
    // `{"empty": true, "pods": "stop"}` empties the account's balance: creates
    // and starts fail with 402 until `{"empty": false}`, and every live pod is
    // stopped, terminated or kept (`pods`: stop, terminate or keep).
    [[nodiscard]] outcome admin_set_balance(std::string_view body);
    void set_balance_empty(bool empty, balance_effect effect);
    [[nodiscard]] bool balance_empty() const noexcept { return balance_empty_; }

    // The name of a pod, deleted or not; nothing for an unknown id.
    [[nodiscard]] std::optional<std::string> name_of(std::string_view id) const;
    // The ids of live pods whose name starts with `prefix` (all for an empty
    // prefix).
    [[nodiscard]] std::vector<std::string> live_pod_ids(std::string_view prefix) const;

    // The current status of a pod, for tests; nothing for an unknown id.
    [[nodiscard]] std::optional<crd::pod_status> status_of(std::string_view id);

    [[nodiscard]] sim_clock::time_point now() const { return options_.now(); }

    // Persistence, for a simulator that keeps its pods across restarts.
    // Encodes the live pods as a state document (JSON, `state_version`): each
    // pod's id, create body (env included), GPU, count, price, creation and
    // boot times in milliseconds since the Unix epoch, pinned status and
    // public ports. Deleted pods are left out.
    [[nodiscard]] std::string save_state() const;
    // Replaces the pods with those of a state document. On an invalid
    // document, returns what is wrong, with its JSON path, and leaves the
    // store unchanged. Capacity and balance are not part of the document.
    [[nodiscard]] boost::system::result<void, std::string> load_state(std::string_view text);
    // Calls `listener` after every change to the pods: a create, delete or
    // action, and an admin change of a pod or of the balance that moved pods.
    void set_change_listener(std::function<void()> listener);
    [[nodiscard]] std::size_t live_pod_count() const;

  private:
    struct pod;

    [[nodiscard]] pod* find_live(std::string_view id);
    [[nodiscard]] static boost::system::result<pod, std::string> pod_from_state(
        const boost::json::value& value, const std::string& path);
    [[nodiscard]] crd::pod_status status_at(const pod& pod, sim_clock::time_point now) const;
    [[nodiscard]] boost::json::object to_json(const pod& pod, sim_clock::time_point now) const;
    [[nodiscard]] outcome add(const boost::json::object& body, bool check_capacity);
    [[nodiscard]] std::string new_id();
    [[nodiscard]] std::uint16_t new_public_port();
    void notify_change();

    store_options options_;
    std::mt19937_64 random_;
    std::set<std::string, std::less<>> unavailable_gpus_;
    std::vector<pod> pods_;
    bool balance_empty_ = false;
    std::function<void()> change_listener_;
};

}  // namespace podsession::providers::simulated
