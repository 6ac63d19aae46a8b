#pragma once

#include <string>

#include <yaml-cpp/yaml.h>
#include <boost/json/value.hpp>

// Conversions between the JSON the API server speaks and the YAML nodes the
// decoder walks, so that one decoder serves both sources.
namespace podsession::crd::detail {

// Tag yaml-cpp gives quoted scalars. Strings converted from JSON carry it too, so
// the decoder can tell the string "900" from the integer 900 in either source.
inline constexpr const char* quoted_tag = "!";

[[nodiscard]] YAML::Node to_yaml(const boost::json::value& value);

// Plain scalars become integers, booleans or null where they read as one;
// quoted scalars stay strings.
[[nodiscard]] boost::json::value to_json(const YAML::Node& node);

// Emits YAML block style, quoting every string that would otherwise read back as
// another type (`"2.99"`, `"true"`, `""`).
[[nodiscard]] std::string emit_yaml(const boost::json::value& value);

}  // namespace podsession::crd::detail
