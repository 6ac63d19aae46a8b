// PodSession YAML files as directory mode reads them.
#include <cstdint>
#include <string_view>

#include "crd/decode.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text{reinterpret_cast<const char*>(data), size};
    for (const auto& document : podsession::crd::decode_pod_session_file(text)) {
        // A decoded session implies no errors, and errors imply no session.
        if (document.result.session.has_value() != document.result.errors.empty()) {
            __builtin_trap();
        }
        for (const auto& error : document.result.errors) {
            (void)error.to_string();
        }
    }
    return 0;
}
