#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "crd/decode.hpp"

namespace podsession::controller {

// One document of a session file.
struct file_entry {
    // `namespace/name`, empty when the document names no session (it is not YAML,
    // or has no valid metadata.name).
    std::string key;
    int line = 0;
    crd::decode_result result;
};

struct session_file {
    std::vector<file_entry> entries;
    // Some document could not be read at all, so sessions it may have declared
    // are unknown.
    bool has_unparsable = false;
};

// The folder under the sessions directory where the controller writes each
// session's status and token: `.status/NAMESPACE/NAME.yaml` and `NAME.token`.
inline constexpr std::string_view status_folder = ".status";

// Whether directory mode reads this file: `*.yaml` or `*.yml`, not hidden.
[[nodiscard]] bool is_session_file_name(const std::filesystem::path& path);
// The same rule for a file name without its folder.
[[nodiscard]] bool is_session_file_name(std::string_view filename);

// The longest metadata.name directory mode accepts: the token file is written
// through a temporary file named `.NAME.token.XXXXXX`, and Linux file systems
// limit a file name to 255 bytes.
inline constexpr std::size_t max_directory_name_length = 255 - std::string_view{".token.XXXXXX"}.size() - 1;

// Decodes a session file as directory mode reads it.
[[nodiscard]] session_file decode_session_file(std::string_view text);

// `FILE:LINE: PodSession NS/NAME: PATH: VALUE RULE`, the form editors jump to.
[[nodiscard]] std::string format_file_error(const std::filesystem::path& file,
                                            const file_entry& entry, const crd::field_error& error);

}  // namespace podsession::controller
