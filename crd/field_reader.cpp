#include "crd/field_reader.hpp"

#include <algorithm>
#include <charconv>

#include "crd/yaml_json.hpp"

namespace podsession::crd::detail {

std::string_view yaml_type(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Map:
            return "a mapping";
        case YAML::NodeType::Sequence:
            return "a list";
        case YAML::NodeType::Scalar:
            return "a scalar";
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
            break;
    }
    return "null";
}

std::string join(std::initializer_list<std::string_view> words) {
    std::string joined;
    for (const auto word : words) {
        if (!joined.empty()) {
            joined += ", ";
        }
        joined += word;
    }
    return joined;
}

void field_reader::add_error(const YAML::Node& node, std::string path, std::string value,
                             std::string rule) {
    errors_.push_back({std::move(path), std::move(value), std::move(rule), line_of(node)});
}

int field_reader::line_of(const YAML::Node& node) const {
    if (first_line_ == 0) {
        return 0;
    }
    // A missing key yields an invalid node, whose Mark() throws.
    if (!node.IsDefined()) {
        return first_line_;
    }
    const auto mark = node.Mark();
    return mark.is_null() ? first_line_ : first_line_ + mark.line;
}

std::string field_reader::describe(const YAML::Node& node) {
    if (!node.IsScalar()) {
        return std::string{yaml_type(node)};
    }
    const std::string& scalar = node.Scalar();
    std::string text = escape_controls(std::string_view{scalar}.substr(0, max_shown_value));
    if (scalar.size() > max_shown_value) {
        text += "... (" + std::to_string(scalar.size()) + " characters)";
    }
    return node.Tag() == detail::quoted_tag ? '"' + text + '"' : text;
}

bool field_reader::expect_map(const YAML::Node& node, const std::string& path) {
    if (node.IsMap()) {
        return true;
    }
    add_error(node, path, describe(node), "must be a mapping");
    return false;
}

bool field_reader::expect_sequence(const YAML::Node& node, const std::string& path) {
    if (node.IsSequence()) {
        return true;
    }
    add_error(node, path, describe(node), "must be a list");
    return false;
}

void field_reader::check_fields(const YAML::Node& node, const std::string& path,
                                std::initializer_list<std::string_view> known) {
    if (ignores_unknown_fields()) {
        return;
    }
    for (const auto& entry : node) {
        const std::string& key = entry.first.Scalar();
        if (std::ranges::find(known, key) == known.end()) {
            add_error(entry.first, join_path(path, key), "",
                      "is not a known field; expected one of " + join(known));
        }
    }
}

std::optional<std::string> field_reader::read_string(const YAML::Node& node,
                                                     const std::string& path,
                                                     std::size_t max_length) {
    if (is_absent(node)) {
        return std::nullopt;
    }
    if (!node.IsScalar()) {
        add_error(node, path, describe(node), "must be a string");
        return std::nullopt;
    }
    if (node.Scalar().size() > max_length) {
        add_error(node, path, describe(node),
                  "is longer than " + std::to_string(max_length) + " characters");
        return std::nullopt;
    }
    return node.Scalar();
}

std::optional<std::int64_t> field_reader::read_integer(const YAML::Node& node,
                                                       const std::string& path, std::int64_t min,
                                                       std::int64_t max) {
    if (is_absent(node)) {
        return std::nullopt;
    }
    std::int64_t value = 0;
    const std::string& text = node.IsScalar() ? node.Scalar() : std::string{};
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (node.IsScalar() && node.Tag() != detail::quoted_tag &&
        ec == std::errc::result_out_of_range && ptr == text.data() + text.size()) {
        add_error(node, path, describe(node),
                  "is out of range " + std::to_string(min) + ".." + std::to_string(max));
        return std::nullopt;
    }
    if (!node.IsScalar() || node.Tag() == detail::quoted_tag || ec != std::errc{} ||
        ptr != text.data() + text.size() || text.empty()) {
        add_error(node, path, describe(node), "must be an integer");
        return std::nullopt;
    }
    if (value < min || value > max) {
        add_error(node, path, describe(node),
                  "is out of range " + std::to_string(min) + ".." + std::to_string(max));
        return std::nullopt;
    }
    return value;
}

std::map<std::string, std::string> field_reader::read_string_map(const YAML::Node& node,
                                                                 const std::string& path) {
    std::map<std::string, std::string> result;
    if (is_absent(node) || !expect_map(node, path)) {
        return result;
    }
    for (const auto& entry : node) {
        const std::string& key = entry.first.Scalar();
        if (const auto value = read_string(entry.second, join_path(path, key), 262144)) {
            result[key] = *value;
        } else if (is_absent(entry.second)) {
            result[key] = "";
        }
    }
    return result;
}

std::string field_reader::join_path(const std::string& path, std::string_view key) {
    std::string joined = path;
    if (!joined.empty()) {
        joined += '.';
    }
    joined += key;
    return joined;
}

std::string field_reader::index_path(const std::string& path, std::size_t index) {
    return path + '[' + std::to_string(index) + ']';
}

}  // namespace podsession::crd::detail
