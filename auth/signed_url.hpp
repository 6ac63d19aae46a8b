#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <boost/system/result.hpp>

#include "auth/token.hpp"
#include "auth/verifier.hpp"

namespace podsession::auth {

// Signs `url` so that it is valid until `expires_at`, inclusive, with the
// algorithm described in auth/verifier.hpp. The result keeps the scheme, host
// and fragment, writes '/' for an empty path, and carries the sorted, re-encoded
// query pairs with `exp` and `sig` among them. An `exp` or `sig` already in the
// query is replaced, so signing a signed URL again renews it.
//
// NOTE: the path is signed as written, as ExAtlas does. Clients send spaces and
// similar characters percent-encoded, so pass the path in that encoded form
// (`/media/my%20clip.mp4`). A raw space in the path yields a URL that never
// verifies.
//
// Fails with errc::invalid_url, errc::empty_secret or errc::crypto_failed.
[[nodiscard]] boost::system::result<std::string> sign_url(std::string_view url,
                                                          const session_token& secret,
                                                          std::chrono::sys_seconds expires_at);

// `now + expires_in`, or errc::invalid_expiry when the sum leaves 64 bits.
[[nodiscard]] boost::system::result<std::chrono::sys_seconds> expiry_after(
    std::chrono::sys_seconds now, std::chrono::seconds expires_in);

// Checks a signed URL or request target; see verify_signed_url in auth/verifier.hpp.
[[nodiscard]] inline signed_url_status verify_url(std::string_view url, const session_token& secret,
                                                  std::chrono::sys_seconds now) {
    return verify_signed_url(url, secret.reveal(), now);
}

}  // namespace podsession::auth
