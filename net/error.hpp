#pragma once

#include <type_traits>

#include <boost/system/error_code.hpp>

namespace podsession::net {

// What an HTTP exchange's failure tells the caller. The codes describe the
// transport only; an HTTP error status is a successful exchange.
enum class errc {
    // The URL is not `http://` or `https://` with a host.
    invalid_url = 1,
    // The host name did not resolve, or no address accepted the connection.
    // Nothing was sent, so any request may be retried.
    connect_failed,
    // The TLS handshake failed: an untrusted certificate, a host name that the
    // certificate does not cover, or a protocol error.
    tls_failure,
    // A connect, read or write did not finish within its timeout, or the whole
    // request exceeded its deadline.
    timeout,
    // The peer closed or reset the connection before the response was complete.
    connection_reset,
    // The response header or body exceeded its size limit.
    too_large,
    // The peer sent bytes that are not valid HTTP/1.1.
    protocol_error,
    // The client or server was stopped while the operation was pending.
    cancelled,
    // The server's certificate failed verification: a CA that the trust store
    // does not contain, an expired certificate, or a host name that the
    // certificate does not cover. Nothing was sent.
    untrusted_certificate,
};

[[nodiscard]] const boost::system::error_category& net_category() noexcept;

[[nodiscard]] inline boost::system::error_code make_error_code(errc code) noexcept {
    return {static_cast<int>(code), net_category()};
}

// Maps an Asio, Beast or OpenSSL error onto `errc`. Codes that are already in
// `net_category()` pass through unchanged.
[[nodiscard]] boost::system::error_code classify(const boost::system::error_code& error);

}  // namespace podsession::net

namespace boost::system {
template <>
struct is_error_code_enum<podsession::net::errc> : std::true_type {};
}  // namespace boost::system
