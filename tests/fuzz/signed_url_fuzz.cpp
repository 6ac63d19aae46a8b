// Signed-URL verification as a pod runs it on every media request. The input is
// the URL; the secret and time are fixed so that a valid signature is possible
// only through the HMAC.
#include <chrono>
#include <cstdint>
#include <string_view>

#include "auth/verifier.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view url{reinterpret_cast<const char*>(data), size};
    const std::chrono::sys_seconds now{std::chrono::seconds{1747000000}};
    (void)podsession::auth::verify_signed_url(url, "test-secret-test-secret-test-secret", now);
    return 0;
}
