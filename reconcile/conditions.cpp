#include "reconcile/conditions.hpp"

#include <algorithm>

namespace podsession::reconcile {

void set_condition(crd::pod_session_status& status, std::string_view type, bool value,
                   std::string_view reason, std::string_view message, crd::timestamp now) {
    const std::string_view value_text = value ? "True" : "False";
    auto found = std::ranges::find(status.conditions, type, &crd::condition::type);
    if (found == status.conditions.end()) {
        status.conditions.push_back({std::string{type}, std::string{value_text},
                                     std::string{reason}, std::string{message}, now});
        return;
    }
    if (found->status != value_text) {
        found->status = value_text;
        found->last_transition_time = now;
    }
    found->reason = reason;
    found->message = message;
}

void remove_condition(crd::pod_session_status& status, std::string_view type) {
    std::erase_if(status.conditions, [&](const crd::condition& item) { return item.type == type; });
}

}  // namespace podsession::reconcile
