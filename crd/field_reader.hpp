#pragma once

// Reading YAML fields with error collection, shared by the PodSession
// decoder: every violated rule becomes a field_error with its path and line,
// and reading goes on so that one pass reports all of them.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "crd/decode.hpp"
#include "crd/validate.hpp"

namespace podsession::crd::detail {

// Values longer than this are cut in messages: a long value is more likely a
// pasted secret than a typo worth reading in full.
constexpr std::size_t max_shown_value = 32;

// The maximum length of an enum word or GPU type id.
constexpr std::size_t max_enum_length = 64;

using crd::escape_controls;

// Names the YAML type of a node ("a mapping", "a list", "a scalar", "null")
// without its content, for values that may be secrets.
std::string_view yaml_type(const YAML::Node& node);

// Joins words with ", ".
std::string join(std::initializer_list<std::string_view> words);

// A reader of the fields of one YAML document that collects every violated
// rule into `errors` instead of stopping at the first.
class field_reader {
  public:
    // `first_line` is the 1-based line where the document starts in its file,
    // or 0 for a source without lines (JSON from the API server).
    field_reader(unknown_fields unknown, int first_line, std::vector<field_error>& errors)
        : unknown_{unknown}, first_line_{first_line}, errors_{errors} {}

    void add_error(const YAML::Node& node, std::string path, std::string value, std::string rule);

    int line_of(const YAML::Node& node) const;

    // Formats a value for a message: strings quoted, numbers bare, long values
    // cut and control characters escaped.
    static std::string describe(const YAML::Node& node);

    static bool is_absent(const YAML::Node& node) { return !node.IsDefined() || node.IsNull(); }

    bool expect_map(const YAML::Node& node, const std::string& path);

    bool expect_sequence(const YAML::Node& node, const std::string& path);

    // Reports every key of `node` that is not in `known`.
    void check_fields(const YAML::Node& node, const std::string& path,
                      std::initializer_list<std::string_view> known);

    std::optional<std::string> read_string(const YAML::Node& node, const std::string& path,
                                           std::size_t max_length);

    std::optional<std::int64_t> read_integer(const YAML::Node& node, const std::string& path,
                                             std::int64_t min, std::int64_t max);

    std::map<std::string, std::string> read_string_map(const YAML::Node& node,
                                                       const std::string& path);

    static std::string join_path(const std::string& path, std::string_view key);

    static std::string index_path(const std::string& path, std::size_t index);

    template <class Enum>
    std::optional<Enum> read_enum(const YAML::Node& node, const std::string& path,
                                  std::initializer_list<std::pair<std::string_view, Enum>> values) {
        const auto text = read_string(node, path, max_enum_length);
        if (!text) {
            return std::nullopt;
        }
        for (const auto& [name, value] : values) {
            if (name == *text) {
                return value;
            }
        }
        std::string names;
        for (const auto& [name, value] : values) {
            names += names.empty() ? "" : ", ";
            names += name;
        }
        add_error(node, path, describe(node), "must be one of " + names);
        return std::nullopt;
    }

  protected:
    [[nodiscard]] bool ignores_unknown_fields() const { return unknown_ == unknown_fields::ignore; }

  private:
    unknown_fields unknown_;
    int first_line_;
    std::vector<field_error>& errors_;
};

}  // namespace podsession::crd::detail
