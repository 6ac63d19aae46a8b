// `podsession touch` rewriting a session file: whatever the file holds, the
// rewrite must not crash, and a rewritten file must still declare the session.
#include <chrono>
#include <cstdint>
#include <string_view>

#include "controller/touch_file.hpp"
#include "crd/decode.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text{reinterpret_cast<const char*>(data), size};
    const podsession::crd::timestamp when{std::chrono::seconds{1764878400}};
    const auto edit = podsession::controller::touch_session_text(text, "default", "user-42", when);
    if (edit) {
        (void)podsession::crd::decode_pod_session_file(edit->text);
    }
    return 0;
}
