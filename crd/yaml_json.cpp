#include "crd/yaml_json.hpp"

#include <charconv>

#include <boost/json/serialize.hpp>

namespace podsession::crd::detail {
namespace {

bool reads_as_integer(const std::string& text, std::int64_t& value) {
    const char* begin = text.data();
    const char* end = begin + text.size();
    if (begin != end && *begin == '+') {
        ++begin;
    }
    const auto [ptr, ec] = std::from_chars(begin, end, value);
    return ec == std::errc{} && ptr == end && begin != end;
}

bool reads_as_float(const std::string& text) {
    double value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc{} && ptr == text.data() + text.size() && !text.empty();
}

bool reads_as_null(const std::string& text) {
    return text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL";
}

bool reads_as_bool(const std::string& text, bool& value) {
    if (text == "true" || text == "True" || text == "TRUE") {
        value = true;
        return true;
    }
    if (text == "false" || text == "False" || text == "FALSE") {
        value = false;
        return true;
    }
    return false;
}

bool needs_quotes(const std::string& text) {
    std::int64_t integer = 0;
    bool flag = false;
    return reads_as_null(text) || reads_as_integer(text, integer) || reads_as_float(text) ||
           reads_as_bool(text, flag) || text == ".inf" || text == ".nan" ||
           text.starts_with("0x") || text.starts_with("0o");
}

void emit(YAML::Emitter& out, const boost::json::value& value) {
    switch (value.kind()) {
        case boost::json::kind::object:
            out << YAML::BeginMap;
            for (const auto& [key, member] : value.get_object()) {
                out << YAML::Key << std::string{key} << YAML::Value;
                emit(out, member);
            }
            out << YAML::EndMap;
            break;
        case boost::json::kind::array:
            out << YAML::BeginSeq;
            for (const auto& item : value.get_array()) {
                emit(out, item);
            }
            out << YAML::EndSeq;
            break;
        case boost::json::kind::string: {
            const std::string text{value.get_string()};
            if (needs_quotes(text)) {
                out << YAML::DoubleQuoted << text;
            } else {
                out << text;
            }
            break;
        }
        case boost::json::kind::int64:
            out << value.get_int64();
            break;
        case boost::json::kind::uint64:
            out << value.get_uint64();
            break;
        case boost::json::kind::double_:
            out << boost::json::serialize(value);
            break;
        case boost::json::kind::bool_:
            out << (value.get_bool() ? "true" : "false");
            break;
        case boost::json::kind::null:
            out << YAML::Null;
            break;
    }
}

}  // namespace

YAML::Node to_yaml(const boost::json::value& value) {
    switch (value.kind()) {
        case boost::json::kind::object: {
            YAML::Node map{YAML::NodeType::Map};
            for (const auto& [key, member] : value.get_object()) {
                map[std::string{key}] = to_yaml(member);
            }
            return map;
        }
        case boost::json::kind::array: {
            YAML::Node sequence{YAML::NodeType::Sequence};
            for (const auto& item : value.get_array()) {
                sequence.push_back(to_yaml(item));
            }
            return sequence;
        }
        case boost::json::kind::string: {
            YAML::Node scalar{std::string{value.get_string()}};
            scalar.SetTag(quoted_tag);
            return scalar;
        }
        case boost::json::kind::int64:
        case boost::json::kind::uint64:
        case boost::json::kind::double_:
            return YAML::Node{boost::json::serialize(value)};
        case boost::json::kind::bool_:
            return YAML::Node{value.get_bool() ? "true" : "false"};
        case boost::json::kind::null:
            return YAML::Node{YAML::NodeType::Null};
    }
    return YAML::Node{YAML::NodeType::Null};
}

boost::json::value to_json(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Map: {
            boost::json::object object;
            for (const auto& entry : node) {
                object[entry.first.Scalar()] = to_json(entry.second);
            }
            return object;
        }
        case YAML::NodeType::Sequence: {
            boost::json::array array;
            for (const auto& item : node) {
                array.push_back(to_json(item));
            }
            return array;
        }
        case YAML::NodeType::Scalar: {
            const std::string& text = node.Scalar();
            if (node.Tag() == quoted_tag) {
                return boost::json::string{text};
            }
            std::int64_t integer = 0;
            bool flag = false;
            if (reads_as_integer(text, integer)) {
                return integer;
            }
            if (reads_as_bool(text, flag)) {
                return flag;
            }
            if (reads_as_null(text)) {
                return nullptr;
            }
            return boost::json::string{text};
        }
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
            return nullptr;
    }
    return nullptr;
}

std::string emit_yaml(const boost::json::value& value) {
    YAML::Emitter out;
    out.SetIndent(2);
    emit(out, value);
    std::string text = out.c_str();
    text.push_back('\n');
    return text;
}

}  // namespace podsession::crd::detail
