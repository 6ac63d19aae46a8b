#pragma once

#include <cstddef>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <boost/system/result.hpp>

#include "crd/pod_session.hpp"

namespace podsession::auth {

// A session token has 32 random bytes, written as base64url without padding.
inline constexpr std::size_t token_random_bytes = 32;
inline constexpr std::size_t token_length = 43;

// A secret credential: a session token, or a signing secret read from a file.
// It has no operator<<, no fmt formatter and no conversion to a string, so it
// cannot reach a log line, an exception message or a status field by accident.
// Code that must send it (a pod's env in a create request, an HMAC key) calls
// reveal() at that spot.
class session_token {
  public:
    // Wraps any bytes. Secrets from outside the controller, such as an ExAtlas
    // signing secret, need not have the format of a generated token.
    explicit session_token(std::string value) noexcept : value_(std::move(value)) {}

    session_token(const session_token&) = default;
    session_token(session_token&&) noexcept = default;
    session_token& operator=(const session_token&) = default;
    session_token& operator=(session_token&&) noexcept = default;
    // Overwrites the characters before the memory is freed. Best effort: a copy
    // the caller made of reveal() is not covered.
    ~session_token();

    [[nodiscard]] std::string_view reveal() const noexcept { return value_; }
    [[nodiscard]] bool empty() const noexcept { return value_.empty(); }

    // Deleted so that `out << token` fails to compile instead of printing the secret.
    friend std::ostream& operator<<(std::ostream& out, const session_token& token) = delete;

  private:
    std::string value_;
};

// Has the signature of OpenSSL's RAND_bytes: fills `count` bytes and returns 1
// on success. Tests pass a generator that fails.
using random_bytes_function = int (*)(unsigned char* buffer, int count);

// Draws a new token from RAND_bytes. Fails with errc::random_failed instead of
// returning a weak token.
[[nodiscard]] boost::system::result<session_token> generate_session_token();
[[nodiscard]] boost::system::result<session_token> generate_session_token(
    random_bytes_function random_bytes);

// An env var that carries a token into a pod.
struct token_env_var {
    std::string_view name;
    session_token value;
};

// The env var name for an auth mode: ATLAS_PRESHARED_KEY for bearer,
// ATLAS_SIGNING_SECRET for signedUrl, nothing for none.
[[nodiscard]] std::optional<std::string_view> token_env_name(crd::auth_mode mode) noexcept;

// The env var that hands `token` to a pod of a session with `mode`, or nothing
// for auth none.
[[nodiscard]] std::optional<token_env_var> token_env(crd::auth_mode mode,
                                                     const session_token& token);

}  // namespace podsession::auth
