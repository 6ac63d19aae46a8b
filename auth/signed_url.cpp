#include "auth/signed_url.hpp"

#include <cstdint>

#include "auth/error.hpp"

namespace podsession::auth {

boost::system::result<std::string> sign_url(std::string_view url, const session_token& secret,
                                            std::chrono::sys_seconds expires_at) {
    const auto parts = detail::split_url(url);
    if (!parts) {
        return make_error_code(errc::invalid_url);
    }
    auto parameters = detail::parse_query(parts->query);
    if (!parameters) {
        return make_error_code(errc::invalid_url);
    }
    if (secret.empty()) {
        return make_error_code(errc::empty_secret);
    }

    parameters->erase(std::string{signature_parameter});
    parameters->insert_or_assign(std::string{expiry_parameter},
                                 std::to_string(expires_at.time_since_epoch().count()));
    const auto canonical = detail::canonical_string(parts->path, *parameters);
    auto signature = detail::signature_for(secret.reveal(), canonical);
    if (!signature) {
        return make_error_code(errc::crypto_failed);
    }
    parameters->insert_or_assign(std::string{signature_parameter}, std::move(*signature));

    // Same path as the canonical string, so that the request target a client
    // sends for this URL rebuilds exactly that string.
    std::string signed_url{parts->origin};
    signed_url += parts->path.empty() ? std::string_view{"/"} : parts->path;
    signed_url += '?';
    signed_url += detail::encode_query(*parameters);
    if (parts->fragment) {
        signed_url += '#';
        signed_url += *parts->fragment;
    }
    return signed_url;
}

boost::system::result<std::chrono::sys_seconds> expiry_after(std::chrono::sys_seconds now,
                                                             std::chrono::seconds expires_in) {
    std::int64_t sum = 0;
    if (__builtin_add_overflow(std::int64_t{now.time_since_epoch().count()},
                               std::int64_t{expires_in.count()}, &sum)) {
        return make_error_code(errc::invalid_expiry);
    }
    return std::chrono::sys_seconds{std::chrono::seconds{sum}};
}

}  // namespace podsession::auth
