#pragma once

#include <string>
#include <string_view>

#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

namespace podsession::controller::kubernetes {

enum class watch_event_type { added, modified, deleted, bookmark, error };

// One line of a watch stream: `{"type": "ADDED", "object": {...}}`.
struct watch_event {
    watch_event_type type = watch_event_type::added;
    // The object; for an error, the Status object.
    boost::json::value object;
    // `object.metadata.resourceVersion`; empty for an error.
    std::string resource_version;
    // For an error: the Status object's `code` (410 when the resourceVersion is
    // too old), `reason` and `message`.
    unsigned error_code = 0;
    std::string error_reason;
    std::string error_message;
};

// Decodes one watch line. Fails (with a message for the log) when the line is
// not JSON, the type is unknown, the object is missing, or an object event
// carries no resourceVersion.
[[nodiscard]] boost::system::result<watch_event, std::string> decode_watch_event(
    std::string_view line);

[[nodiscard]] std::string_view to_string(watch_event_type type);

}  // namespace podsession::controller::kubernetes
