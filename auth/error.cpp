#include "auth/error.hpp"

#include <string>

namespace podsession::auth {

namespace {

class category final : public boost::system::error_category {
  public:
    [[nodiscard]] const char* name() const noexcept override { return "podsession.auth"; }

    [[nodiscard]] std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::random_failed:
                return "OpenSSL RAND_bytes failed to produce random bytes";
            case errc::invalid_url:
                return "invalid URL: expected an absolute URL (https://host/path) or a path "
                       "starting with '/', with a valid percent-encoded query";
            case errc::invalid_expiry:
                return "expiry is out of range for 64-bit Unix seconds";
            case errc::empty_secret:
                return "secret is empty";
            case errc::crypto_failed:
                return "OpenSSL failed to compute HMAC-SHA256";
            case errc::secret_env_unset:
                return "environment variable is not set";
            case errc::secret_too_large:
                return "secret file is too large to hold a secret";
        }
        return "unknown auth error " + std::to_string(value);
    }
};

}  // namespace

const boost::system::error_category& auth_category() noexcept {
    static const category instance;
    return instance;
}

}  // namespace podsession::auth
