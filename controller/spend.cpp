#include "controller/spend.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace podsession::controller {
namespace {

constexpr double milliseconds_per_hour = 3'600'000.0;

}  // namespace

spend_tracker::spend_tracker(metrics& sink, std::chrono::milliseconds max_gap)
    : metrics_{sink}, max_gap_{max_gap} {}

spend_tracker::report spend_tracker::observe(std::span<const crd::observed_pod> pods,
                                             crd::timestamp now) {
    report result;

    // The interval since the previous list, unless there was none or the
    // clock went back.
    std::optional<std::chrono::milliseconds> elapsed;
    if (last_observation_) {
        if (now < *last_observation_) {
            result.clock_moved_back = true;
        } else {
            elapsed = now - *last_observation_;
            if (*elapsed > max_gap_) {
                result.gap = elapsed;
            }
        }
    }

    // Integrate each pod of this list and remember its cost for the next one.
    std::map<std::string, tracked_pod, std::less<>> current;
    metrics::cost_by_gpu_type usd_per_hour;
    for (const auto& pod : pods) {
        if (current.contains(pod.id)) {
            continue;
        }

        double cost = pod.cost_per_hour;
        if (!std::isfinite(cost) || cost < 0) {
            result.invalid_cost_pod_ids.push_back(pod.id);
            cost = 0;
        }
        usd_per_hour[pod.gpu_type] += cost;

        const auto previous = pods_.find(pod.id);
        if (previous != pods_.end()) {
            if (elapsed) {
                add_spend(previous->second.gpu_type, previous->second.cost_per_hour, *elapsed,
                          result);
            }
        } else if (elapsed && pod.created_at && *pod.created_at > *last_observation_) {
            const auto start = std::min(*pod.created_at, now);
            add_spend(pod.gpu_type, cost, now - start, result);
        }

        current.emplace(pod.id, tracked_pod{pod.gpu_type, cost});
    }

    // Pods missing from this list are dropped here, so they stop counting.
    pods_ = std::move(current);
    last_observation_ = now;

    metrics_.set_pods(pods);
    metrics_.set_spend_per_hour(usd_per_hour);
    return result;
}

double spend_tracker::total_usd() const {
    double total = 0;
    for (const auto& [gpu_type, usd] : total_by_gpu_type_) {
        total += usd;
    }
    return total;
}

double spend_tracker::total_usd(std::string_view gpu_type) const {
    const auto found = total_by_gpu_type_.find(gpu_type);
    return found == total_by_gpu_type_.end() ? 0 : found->second;
}

void spend_tracker::add_spend(const std::string& gpu_type, double cost_per_hour,
                              std::chrono::milliseconds duration, report& result) {
    const double usd =
        cost_per_hour * static_cast<double>(duration.count()) / milliseconds_per_hour;
    if (usd <= 0) {
        return;
    }
    total_by_gpu_type_[gpu_type] += usd;
    result.added_usd += usd;
    metrics_.add_spend(gpu_type, usd);
}

}  // namespace podsession::controller
