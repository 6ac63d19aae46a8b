#include "controller/kubernetes/watch_event.hpp"

#include <boost/json/parse.hpp>

namespace podsession::controller::kubernetes {
namespace {

std::string string_at(const boost::json::object& object, std::string_view key) {
    const auto* value = object.if_contains(key);
    return value && value->is_string() ? std::string{value->get_string()} : std::string{};
}

}  // namespace

std::string_view to_string(watch_event_type type) {
    switch (type) {
        case watch_event_type::added:
            return "ADDED";
        case watch_event_type::modified:
            return "MODIFIED";
        case watch_event_type::deleted:
            return "DELETED";
        case watch_event_type::bookmark:
            return "BOOKMARK";
        case watch_event_type::error:
            return "ERROR";
    }
    return "UNKNOWN";
}

boost::system::result<watch_event, std::string> decode_watch_event(std::string_view line) {
    boost::system::error_code parse_error;
    auto parsed = boost::json::parse(line, parse_error);
    if (parse_error) {
        return "watch event is not JSON: " + parse_error.message();
    }
    if (!parsed.is_object()) {
        return std::string{"watch event is not a JSON object"};
    }
    auto& root = parsed.get_object();

    watch_event event;
    const auto type = string_at(root, "type");
    if (type == "ADDED") {
        event.type = watch_event_type::added;
    } else if (type == "MODIFIED") {
        event.type = watch_event_type::modified;
    } else if (type == "DELETED") {
        event.type = watch_event_type::deleted;
    } else if (type == "BOOKMARK") {
        event.type = watch_event_type::bookmark;
    } else if (type == "ERROR") {
        event.type = watch_event_type::error;
    } else {
        return "watch event has an unknown type \"" + type.substr(0, 32) + "\"";
    }

    auto* object = root.if_contains("object");
    if (object == nullptr || !object->is_object()) {
        return "watch event " + type + " has no object";
    }
    event.object = std::move(*object);
    const auto& fields = event.object.get_object();

    if (event.type == watch_event_type::error) {
        if (const auto* code = fields.if_contains("code");
            code && code->is_int64() && code->get_int64() > 0 && code->get_int64() < 1000) {
            event.error_code = static_cast<unsigned>(code->get_int64());
        }
        event.error_reason = string_at(fields, "reason");
        event.error_message = string_at(fields, "message");
        return event;
    }

    if (const auto* metadata = fields.if_contains("metadata"); metadata && metadata->is_object()) {
        event.resource_version = string_at(metadata->get_object(), "resourceVersion");
    }
    if (event.resource_version.empty()) {
        return "watch event " + type + " has no metadata.resourceVersion";
    }
    return event;
}

}  // namespace podsession::controller::kubernetes
