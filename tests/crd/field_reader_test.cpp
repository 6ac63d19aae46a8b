#include "crd/field_reader.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace podsession::crd::detail {
namespace {

struct field_reading : ::testing::Test {
    std::vector<field_error> errors;
    field_reader reader{unknown_fields::reject, 10, errors};
};

TEST_F(field_reading, integer_in_range) {
    const auto node = YAML::Load("port: 8000");
    EXPECT_EQ(reader.read_integer(node["port"], "spec.port", 1, 65535), 8000);
    EXPECT_TRUE(errors.empty());
}

TEST_F(field_reading, integer_out_of_range) {
    const auto node = YAML::Load("port: 70000");
    EXPECT_EQ(reader.read_integer(node["port"], "spec.port", 1, 65535), std::nullopt);
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].to_string(), "spec.port: 70000 is out of range 1..65535");
}

TEST_F(field_reading, integer_overflowing_int64) {
    const auto node = YAML::Load("n: 99999999999999999999");
    EXPECT_EQ(reader.read_integer(node["n"], "n", 0, 10), std::nullopt);
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].rule, "is out of range 0..10");
}

TEST_F(field_reading, quoted_integer_is_a_string) {
    const auto node = YAML::Load("port: \"8000\"");
    EXPECT_EQ(reader.read_integer(node["port"], "spec.port", 1, 65535), std::nullopt);
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].value, "\"8000\"");
    EXPECT_EQ(errors[0].rule, "must be an integer");
}

TEST_F(field_reading, absent_field_is_no_error) {
    const auto node = YAML::Load("other: 1");
    EXPECT_EQ(reader.read_string(node["name"], "name", 10), std::nullopt);
    EXPECT_EQ(reader.read_integer(node["count"], "count", 0, 1), std::nullopt);
    EXPECT_TRUE(errors.empty());
}

TEST_F(field_reading, line_counts_from_document_start) {
    const auto node = YAML::Load("a: 1\nb: [x]\n");
    EXPECT_EQ(reader.read_string(node["b"], "b", 10), std::nullopt);
    ASSERT_EQ(errors.size(), 1U);
    // `b` is on the document's second line, and the document starts on line 10.
    EXPECT_EQ(errors[0].line, 11);
    EXPECT_EQ(errors[0].rule, "must be a string");
}

TEST_F(field_reading, long_value_cut_and_escaped) {
    const auto node = YAML::Load("v: \"\\e[31m" + std::string(40, 'x') + "\"");
    const auto described = field_reader::describe(node["v"]);
    EXPECT_EQ(described.find('\x1b'), std::string::npos);
    EXPECT_NE(described.find("\\x1b[31m"), std::string::npos);
    EXPECT_NE(described.find("... (45 characters)"), std::string::npos);
}

TEST_F(field_reading, unknown_field_lists_known_ones) {
    const auto node = YAML::Load("image: x\nflavour: spicy\n");
    reader.check_fields(node, "spec", {"image", "ports"});
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].path, "spec.flavour");
    EXPECT_EQ(errors[0].rule, "is not a known field; expected one of image, ports");
}

TEST(field_reader, ignores_unknown_fields_when_told) {
    std::vector<field_error> errors;
    field_reader reader{unknown_fields::ignore, 0, errors};
    reader.check_fields(YAML::Load("managedFields: []"), "metadata", {"name"});
    EXPECT_TRUE(errors.empty());
}

TEST_F(field_reading, enum_names_allowed_words) {
    enum class cloud { secure, community };
    const auto node = YAML::Load("cloud: PRIVATE");
    EXPECT_EQ(reader.read_enum<cloud>(node["cloud"], "spec.cloud",
                                      {{"SECURE", cloud::secure}, {"COMMUNITY", cloud::community}}),
              std::nullopt);
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].rule, "must be one of SECURE, COMMUNITY");
}

TEST(field_reader, paths_join_like_kubernetes) {
    EXPECT_EQ(field_reader::join_path("", "spec"), "spec");
    EXPECT_EQ(field_reader::join_path("spec", "ports"), "spec.ports");
    EXPECT_EQ(field_reader::index_path("spec.ports", 1), "spec.ports[1]");
}

}  // namespace
}  // namespace podsession::crd::detail
