#pragma once

#include <string>
#include <string_view>

#include "crd/pod_session.hpp"

namespace podsession::reconcile {

// Condition types the controller sets. Ready is always present; the others only
// while true.
inline constexpr std::string_view condition_ready = "Ready";
inline constexpr std::string_view condition_provider_error = "ProviderError";
inline constexpr std::string_view condition_touch_invalid = "TouchInvalid";
inline constexpr std::string_view condition_budget_exceeded = "BudgetExceeded";
inline constexpr std::string_view condition_spec_invalid = "SpecInvalid";

// Sets a condition, keeping its lastTransitionTime unless its status changes, as
// Kubernetes conventions ask.
void set_condition(crd::pod_session_status& status, std::string_view type, bool value,
                   std::string_view reason, std::string_view message, crd::timestamp now);

void remove_condition(crd::pod_session_status& status, std::string_view type);

}  // namespace podsession::reconcile
