#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <type_traits>

#include <boost/assert/source_location.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace podsession::controller::kubernetes {

// What a failed Kubernetes API call tells the caller to do.
enum class errc {
    // 400: the request is malformed; a bug or an unsupported server.
    bad_request = 1,
    // 401: the credentials are missing, wrong or expired.
    unauthorized,
    // 403: RBAC does not grant the verb on the resource.
    forbidden,
    // 404: the object (or its namespace, or the resource type) does not exist.
    not_found,
    // 409 Conflict: the object changed since it was read (resourceVersion or
    // UID precondition). Re-read it and retry the read-modify-write.
    conflict,
    // 409 AlreadyExists: a create found the name taken. Read the object.
    already_exists,
    // 410 Gone: the resourceVersion is too old. Relist.
    gone,
    // 422: the object fails validation; retrying the same write cannot help.
    invalid,
    // 429: the server asks the client to slow down; wait `retry_after`.
    rate_limited,
    // 5xx, or a connect, TLS, timeout or reset of the transport. Back off and
    // retry.
    unavailable,
    // A response that is not the JSON the API serves.
    malformed_response,
    // Not sent: this replica does not hold the leader-election Lease.
    not_leader,
    // Any other status.
    unexpected_status,
};

[[nodiscard]] const boost::system::error_category& api_category() noexcept;

[[nodiscard]] inline boost::system::error_code make_error_code(errc code) noexcept {
    return {static_cast<int>(code), api_category()};
}

// A failed API call. `message` comes from the server's Status object or the
// transport; it never holds a credential.
struct api_error {
    boost::system::error_code code;
    std::string message;
    // The HTTP status, 0 when no response arrived.
    unsigned http_status = 0;
    // The Status object's `reason` (`Conflict`, `Expired`, ...), if any.
    std::string reason;
    // From `Retry-After` or the Status object's `details.retryAfterSeconds`.
    std::optional<std::chrono::seconds> retry_after;

    [[nodiscard]] bool is(errc value) const noexcept { return code == make_error_code(value); }

    // Whether waiting and retrying the same request may succeed.
    [[nodiscard]] bool is_retryable() const noexcept {
        return is(errc::rate_limited) || is(errc::unavailable);
    }

    // `status=409 reason=Conflict message="..."` style text for logs.
    [[nodiscard]] std::string describe() const;
};

// Called by `result<T, api_error>::value()` on an error.
[[noreturn]] void throw_exception_from_error(const api_error& error,
                                             const boost::source_location& location);

template <class T>
using api_result = boost::system::result<T, api_error>;

// Classifies a non-2xx response from its status, its body (a Status object,
// when it is one) and its Retry-After header value.
[[nodiscard]] api_error classify_response(unsigned status, std::string_view body,
                                          std::string_view retry_after_header);

// Wraps a transport failure (a `net::errc`) as `errc::unavailable`.
[[nodiscard]] api_error transport_error(const boost::system::error_code& error);

[[nodiscard]] api_error make_api_error(errc code, std::string message);

}  // namespace podsession::controller::kubernetes

namespace boost::system {
template <>
struct is_error_code_enum<podsession::controller::kubernetes::errc> : std::true_type {};
}  // namespace boost::system
