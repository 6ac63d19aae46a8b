#pragma once

#include <type_traits>

#include <boost/system/error_code.hpp>

namespace podsession::auth {

// Failure reasons of auth operations, named for what the caller does next.
enum class errc {
    // OpenSSL's RAND_bytes failed (no entropy source, a broken provider). Report
    // it and retry later, but never fall back to a weaker generator.
    random_failed = 1,
    // The URL is neither absolute (`https://host/path`) nor a request target
    // starting with '/', or its query has a '%' without two hex digits. Fix the URL.
    invalid_url,
    // The expiry does not fit in 64-bit Unix seconds. Use a nearer expiry.
    invalid_expiry,
    // The secret is empty, and an HMAC with an empty key is a signature anyone
    // can forge. Provide the session's secret.
    empty_secret,
    // OpenSSL failed to compute an HMAC. Check the OpenSSL installation.
    crypto_failed,
    // The environment variable named for the secret is not set.
    secret_env_unset,
    // The secret file is larger than any secret could be, so it is the wrong file.
    secret_too_large,
};

[[nodiscard]] const boost::system::error_category& auth_category() noexcept;

[[nodiscard]] inline boost::system::error_code make_error_code(errc code) noexcept {
    return {static_cast<int>(code), auth_category()};
}

}  // namespace podsession::auth

namespace boost::system {
template <>
struct is_error_code_enum<podsession::auth::errc> : std::true_type {};
}  // namespace boost::system
