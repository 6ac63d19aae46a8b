#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace podsession::controller::kubernetes {

// Standard base64 (RFC 4648 section 4, with padding), the encoding of a
// Secret's `data` and a kubeconfig's `*-data` fields.
[[nodiscard]] std::string encode_base64(std::string_view bytes);

// Decodes standard base64. Line breaks and spaces between groups are skipped,
// because kubeconfig files sometimes wrap long values. Returns nothing for any
// other character, a bad length or bad padding.
[[nodiscard]] std::optional<std::string> decode_base64(std::string_view text);

}  // namespace podsession::controller::kubernetes
