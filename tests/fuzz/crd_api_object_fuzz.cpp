// PodSession objects as the Kubernetes API server sends them, in list answers
// and watch events.
#include <cstdint>
#include <string_view>

#include <boost/json/parse.hpp>

#include "crd/decode.hpp"
#include "crd/status_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    boost::system::error_code error;
    const auto value = boost::json::parse(std::string_view{reinterpret_cast<const char*>(data), size}, error);
    if (error) {
        return 0;
    }
    const auto result = podsession::crd::decode_pod_session(value);
    if (result.session.has_value() != result.errors.empty()) {
        __builtin_trap();
    }
    if (result.session) {
        // The status read back must encode and decode again.
        const auto encoded = podsession::crd::encode_status(result.session->status);
        (void)podsession::crd::decode_status(encoded);
    }
    return 0;
}
