#include "auth/token.hpp"

#include <array>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "auth/error.hpp"
#include "auth/verifier.hpp"

namespace podsession::auth {

session_token::~session_token() {
    OPENSSL_cleanse(value_.data(), value_.size());
}

boost::system::result<session_token> generate_session_token() {
    return generate_session_token(&RAND_bytes);
}

boost::system::result<session_token> generate_session_token(random_bytes_function random_bytes) {
    std::array<unsigned char, token_random_bytes> bytes{};
    const int status = random_bytes(bytes.data(), static_cast<int>(bytes.size()));
    if (status != 1) {
        // RAND_bytes leaves the reason on OpenSSL's thread-local error queue.
        // Clearing it keeps a later, unrelated OpenSSL call from reporting it.
        ERR_clear_error();
        OPENSSL_cleanse(bytes.data(), bytes.size());
        return make_error_code(errc::random_failed);
    }

    session_token token{detail::base64url_encode(bytes)};
    OPENSSL_cleanse(bytes.data(), bytes.size());
    return token;
}

std::optional<std::string_view> token_env_name(crd::auth_mode mode) noexcept {
    switch (mode) {
        case crd::auth_mode::bearer:
            return preshared_key_env;
        case crd::auth_mode::signed_url:
            return signing_secret_env;
        case crd::auth_mode::none:
            return std::nullopt;
    }
    return std::nullopt;
}

std::optional<token_env_var> token_env(crd::auth_mode mode, const session_token& token) {
    const auto name = token_env_name(mode);
    if (!name) {
        return std::nullopt;
    }
    return token_env_var{*name, token};
}

}  // namespace podsession::auth
