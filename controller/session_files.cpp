#include "controller/session_files.hpp"

#include <algorithm>

#include "crd/validate.hpp"

namespace podsession::controller {

bool is_session_file_name(const std::filesystem::path& path) {
    return is_session_file_name(std::string_view{path.filename().native()});
}

bool is_session_file_name(std::string_view filename) {
    if (filename.empty() || filename.front() == '.') {
        return false;
    }
    return filename.ends_with(".yaml") || filename.ends_with(".yml");
}

session_file decode_session_file(std::string_view text) {
    crd::decode_options options;
    options.max_name_length = max_directory_name_length;
    session_file file;
    for (auto& document : crd::decode_pod_session_file(text, options)) {
        file_entry entry;
        entry.line = document.result.line;
        const auto& metadata = document.result.metadata;
        // A name that failed validation is left empty by the decoder, so only
        // valid names become keys. An invalid namespace leaves the default in
        // place, and the session must not be taken for default/NAME, where it
        // would block the session that really has that name.
        const bool bad_namespace =
            std::ranges::any_of(document.result.errors, [](const crd::field_error& error) {
                return error.path == "metadata.namespace";
            });
        if (!metadata.name.empty() && !bad_namespace) {
            entry.key = crd::session_key(metadata);
        }
        file.has_unparsable = file.has_unparsable || document.unparsable;
        entry.result = std::move(document.result);
        file.entries.push_back(std::move(entry));
    }
    return file;
}

std::string format_file_error(const std::filesystem::path& file, const file_entry& entry,
                              const crd::field_error& error) {
    std::string text = file.string();
    text += ':';
    text += std::to_string(error.line > 0 ? error.line : entry.line);
    text += ": ";
    if (!entry.key.empty()) {
        text += "PodSession ";
        text += entry.key;
        text += ": ";
    }
    text += error.to_string();
    return text;
}

}  // namespace podsession::controller
