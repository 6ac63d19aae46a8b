#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#include <boost/assert/source_location.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace podsession::providers {

// What a provider call's failure tells the caller to do. Every provider maps its
// own errors onto these; nothing above the provider looks at HTTP statuses.
enum class errc {
    // The API key is missing or invalid (RunPod 401). Stop every provider write
    // and report once; retrying cannot help.
    unauthorized = 1,
    // The key lacks a permission (403). Terminal like `unauthorized`.
    forbidden,
    // The account's balance is exhausted (402). Stop creating; keep terminating.
    payment_required,
    // The pod does not exist (404). Counts as done for a terminate.
    not_found,
    // The action is invalid for the pod's status (409). Re-read the pod.
    conflict,
    // The request is invalid for this spec (422). Fix the spec; never retry.
    invalid_request,
    // No capacity for this GPU type or data centre (400 on create). Try the next
    // GPU type.
    capacity,
    // Rate limited (429). Wait for `retry_after`, then retry.
    rate_limited,
    // A 5xx, timeout or reset on a call that cannot have changed anything, or
    // whose repetition is harmless. Retry with backoff.
    transient,
    // A create that failed in a way that may have created the pod (5xx, timeout,
    // reset, lost response). Never retry blindly: list by name first.
    unknown_outcome,
};

[[nodiscard]] const boost::system::error_category& provider_category() noexcept;

[[nodiscard]] inline boost::system::error_code make_error_code(errc code) noexcept {
    return {static_cast<int>(code), provider_category()};
}

// A failed provider call. `message` and `details` come from the provider's
// problem document or the transport; they never contain the API key or any env
// value, so they may be logged and published in conditions.
struct provider_error {
    boost::system::error_code code;
    std::string message;
    // The HTTP status, 0 when the request got no response.
    int http_status = 0;
    // From `Retry-After` on a 429.
    std::optional<std::chrono::milliseconds> retry_after;
    // The `errors[]` of a 422 problem document.
    std::vector<std::string> details;

    [[nodiscard]] bool is(errc value) const noexcept { return code == make_error_code(value); }
};

// Called by `result<T, provider_error>::value()` on an error.
[[noreturn]] void throw_exception_from_error(const provider_error& error,
                                             const boost::source_location& location);

template <class T>
using result = boost::system::result<T, provider_error>;

}  // namespace podsession::providers

namespace boost::system {
template <>
struct is_error_code_enum<podsession::providers::errc> : std::true_type {};
}  // namespace boost::system
