#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "controller/metrics.hpp"
#include "crd/observed_pod.hpp"
#include "crd/time.hpp"

namespace podsession::controller {

// Several times longer than a resync interval should be, so that only a stall
// (a provider outage, a paused process) is reported as a gap.
inline constexpr std::chrono::milliseconds default_max_observation_gap = std::chrono::minutes{5};

// Integrates the money spent on pods from the hourly costs in successive pod
// lists, and publishes it as `podsession_spend_usd_total`, together with
// `podsession_spend_usd_per_hour` and `podsession_pods` for the latest list.
//
// The cost of a pod is taken as a step function: the USD/hour seen in one
// list applies until the next list. Each observation therefore adds
//   - for a pod in both this list and the previous one: its previous cost times
//     the time between the two lists;
//   - for a pod new in this list whose `createdAt` is later than the previous
//     list: its current cost times the time since `createdAt` (clamped to now),
//     because such a pod cannot have been missed by the previous list;
//   - for any other new pod: nothing, so it counts from this list on. This is
//     every pod on the first list after a start: spend before the process
//     started is not known to it, and Prometheus reads the reset counter
//     through `increase()`;
//   - for a pod gone from this list: nothing for the last interval, because
//     the list cannot tell when in that interval the pod stopped billing.
// So the total runs at most one list interval behind for each pod that stops,
// and charges a pod whose cost dropped (EXITED) its old cost for at most one
// interval.
//
// Times come from the caller and no clock is read, so tests drive it with
// fixed instants. Not thread-safe: one caller observes the lists in order.
class spend_tracker {
  public:
    struct report {
        // USD added by this observation, every GPU type together.
        double added_usd = 0;
        // Set when the time since the previous list exceeded the maximum gap.
        // The interval is still integrated at the last known costs, because
        // RunPod keeps billing while the controller cannot list. The caller
        // logs it, so that a reader of the total knows it was extrapolated.
        std::optional<std::chrono::milliseconds> gap;
        // Set when `now` is earlier than the previous list (the wall clock was
        // stepped back). Nothing is added, and counting resumes from `now`.
        bool clock_moved_back = false;
        // Pods whose cost was negative or not a finite number. They are
        // counted at 0 USD/hour.
        std::vector<std::string> invalid_cost_pod_ids;
    };

    explicit spend_tracker(metrics& sink,
                           std::chrono::milliseconds max_gap = default_max_observation_gap);

    // Records a pod list taken at `now`. Pass only a complete, successful list
    // of this controller's pods. A failed list is no observation, and the next
    // successful one covers its interval. Pods are identified by id, and a
    // second pod with the same id in one list is ignored.
    report observe(std::span<const crd::observed_pod> pods, crd::timestamp now);

    // Returns the USD integrated since construction, over every GPU type.
    [[nodiscard]] double total_usd() const;

    // Returns the USD integrated since construction for one RunPod GPU type id.
    // Unlike the metric, it keeps ids outside the catalog apart.
    [[nodiscard]] double total_usd(std::string_view gpu_type) const;

  private:
    struct tracked_pod {
        std::string gpu_type;
        double cost_per_hour = 0;
    };

    void add_spend(const std::string& gpu_type, double cost_per_hour,
                   std::chrono::milliseconds duration, report& result);

    metrics& metrics_;
    std::chrono::milliseconds max_gap_;
    std::optional<crd::timestamp> last_observation_;
    // The pods of the last list, by id.
    std::map<std::string, tracked_pod, std::less<>> pods_;
    std::map<std::string, double, std::less<>> total_by_gpu_type_;
};

}  // namespace podsession::controller
