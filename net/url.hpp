#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/system/result.hpp>

namespace podsession::net {

// The destination of a client's requests: the scheme, host and port of a base
// URL, plus a path prefix that goes in front of every request target.
struct origin {
    bool tls = false;
    // A DNS name or an IP address, without the brackets of an IPv6 literal.
    std::string host;
    std::uint16_t port = 0;
    // Empty, or a path that starts with `/` and has no trailing `/`.
    std::string base_path;

    // The value of a `Host` header: the host, bracketed for IPv6, and the port
    // unless it is the scheme's default.
    [[nodiscard]] std::string host_header() const;
    // The URL without a trailing `/`, for messages and logs.
    [[nodiscard]] std::string to_string() const;
};

// Parses `http://host[:port][/path]` or `https://...`. Userinfo, a query or a
// fragment are rejected (`errc::invalid_url`), so that a key pasted into a URL
// is never sent or logged by accident.
[[nodiscard]] boost::system::result<origin> parse_origin(std::string_view url);

}  // namespace podsession::net
