#include "crd/yaml_load.hpp"

#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "tests/crd/alias_bomb.hpp"

namespace podsession::crd {
namespace {

// The error `load_yaml` throws for `text`, or a test failure when it throws
// none.
yaml_expansion_error expansion_error_of(const std::string& text,
                                        const yaml_expansion_limits& limits = {}) {
    try {
        (void)load_yaml(text, limits);
    } catch (const yaml_expansion_error& error) {
        return error;
    }
    ADD_FAILURE() << "expected a yaml_expansion_error for:\n" << text.substr(0, 200);
    return yaml_expansion_error{YAML::Mark::null_mark(), ""};
}

// A flow list of an anchored list of `anchored` scalars, `aliases` aliases of
// it and `extra` plain scalars: 1 + (anchored + 1) * (aliases + 1) + extra
// nodes once expanded.
std::string list_with_aliases(int anchored, int aliases, int extra) {
    std::string text = "[&a [";
    for (int i = 0; i < anchored; ++i) {
        text += i == 0 ? "x" : ", x";
    }
    text += "]";
    for (int i = 0; i < aliases; ++i) {
        text += ", *a";
    }
    for (int i = 0; i < extra; ++i) {
        text += ", y";
    }
    return text + "]\n";
}

TEST(yaml_load, rejects_an_alias_bomb_quickly) {
    const auto start = std::chrono::steady_clock::now();
    const auto error = expansion_error_of(testing::alias_bomb_session());
    const auto elapsed = std::chrono::steady_clock::now() - start;

    // x4 on the 8th line (0-based 7) is the first anchor past 100,000 nodes.
    EXPECT_EQ(error.mark.line, 7);
    EXPECT_NE(error.msg.find("anchors and aliases expand this document to more than 100000 nodes"),
              std::string::npos)
        << error.msg;
    EXPECT_NE(error.msg.find("(at alias *a3)"), std::string::npos) << error.msg;
    EXPECT_NE(error.msg.find("write the values out"), std::string::npos) << error.msg;
    // Walking the bomb would take hours; the check reads 800 bytes. The bound
    // is loose for a loaded machine.
    EXPECT_LT(elapsed, std::chrono::seconds{2})
        << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms";
}

TEST(yaml_load, keeps_plain_anchors_and_aliases_working) {
    const std::string text =
        "defaults: &defaults {image: \"x:1\", gpu: {types: [h100]}}\n"
        "first: *defaults\n"
        "second: {ports: &ports [{port: 8000}], again: *ports}\n"
        "name: &name user-42\n"
        "copy: *name\n";
    const auto node = load_yaml(text);
    EXPECT_EQ(node["first"]["image"].as<std::string>(), "x:1");
    EXPECT_EQ(node["first"]["gpu"]["types"][0].as<std::string>(), "h100");
    EXPECT_EQ(node["second"]["again"][0]["port"].as<int>(), 8000);
    EXPECT_EQ(node["copy"].as<std::string>(), "user-42");
}

TEST(yaml_load, allows_exactly_the_limit) {
    // 1 + 100 * 999 + 99 = 100,000 nodes.
    EXPECT_NO_THROW((void)load_yaml(list_with_aliases(99, 998, 99)));
    const auto error = expansion_error_of(list_with_aliases(99, 998, 100));
    EXPECT_NE(error.msg.find("more than 100000 nodes"), std::string::npos) << error.msg;

    const yaml_expansion_limits small{.max_nodes = 25};
    // 1 + 4 * 6 = 25 nodes.
    EXPECT_NO_THROW((void)load_yaml(list_with_aliases(3, 5, 0), small));
    EXPECT_NE(expansion_error_of(list_with_aliases(3, 6, 0), small).msg.find("(at alias *a)"),
              std::string::npos);
}

TEST(yaml_load, bounds_the_text_an_alias_repeats) {
    const std::string value(1000, 'v');
    const auto text_with = [&](int aliases) {
        std::string text = "[&s " + value;
        for (int i = 0; i < aliases; ++i) {
            text += ", *s";
        }
        return text + "]\n";
    };
    const yaml_expansion_limits limits{.max_scalar_bytes = 16000};
    EXPECT_NO_THROW((void)load_yaml(text_with(15), limits));
    const auto error = expansion_error_of(text_with(16), limits);
    EXPECT_NE(error.msg.find("more than 16000 bytes of text (at alias *s)"), std::string::npos)
        << error.msg;
}

TEST(yaml_load, rejects_an_alias_inside_its_own_anchor) {
    // yaml-cpp would build a cycle, which every walk follows until the stack
    // overflows.
    for (const std::string text : {"&a [*a]\n", "&m {k: *m}\n", "outer: &o\n  - [1, *o]\n"}) {
        SCOPED_TRACE(text);
        const auto error = expansion_error_of(text);
        EXPECT_NE(error.msg.find("refers to a node that contains it"), std::string::npos)
            << error.msg;
    }
}

TEST(yaml_load, leaves_documents_without_aliases_unlimited) {
    // Their size is bounded by the file size limit, and walking them is linear.
    const yaml_expansion_limits tiny{.max_nodes = 5, .max_scalar_bytes = 5};
    EXPECT_NO_THROW((void)load_yaml("a: [1, 2, 3, 4, 5, 6, 7, 8]\nb: a long text value\n", tiny));
    EXPECT_NO_THROW((void)load_yaml("&unused [1, 2, 3, 4, 5, 6, 7, 8]\n", tiny));
    // A '*' inside a scalar makes the check parse, but is no alias.
    EXPECT_NO_THROW((void)load_yaml("[\"*\", '*', a*b, 4, 5, 6, 7, 8]\n", tiny));
}

TEST(yaml_load, reports_invalid_yaml_as_before) {
    EXPECT_THROW((void)load_yaml("a: [unclosed\n"), YAML::ParserException);
    EXPECT_THROW((void)load_yaml("a: *undefined\n"), YAML::ParserException);
}

TEST(yaml_load, checks_only_the_document_it_loads) {
    // YAML::Load builds the first document only; a later one costs nothing.
    const auto node = load_yaml("a: 1\n---\n" + testing::alias_bomb_entries());
    EXPECT_EQ(node["a"].as<int>(), 1);
}

}  // namespace
}  // namespace podsession::crd
