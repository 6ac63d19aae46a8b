#include "controller/touch_file.hpp"

#include <gtest/gtest.h>

#include "crd/decode.hpp"
#include "tests/crd/alias_bomb.hpp"

namespace podsession::controller {
namespace {

using namespace std::chrono;

const crd::timestamp when = sys_days{year{2026} / December / 4} + hours{20};

std::string touched(std::string_view text, std::string_view name = "user-42",
                    std::string_view ns = "apps") {
    const auto edit = touch_session_text(text, ns, name, when);
    EXPECT_TRUE(edit.has_value());
    return edit ? edit->text : std::string{};
}

// Returns the annotation as the decoder reads it back.
std::string annotation_of(std::string_view text, std::string_view name) {
    for (const auto& document : crd::decode_pod_session_file(text)) {
        if (document.result.session && document.result.session->metadata.name == name) {
            const auto& annotations = document.result.session->metadata.annotations;
            const auto found = annotations.find("podsession.io/last-touched");
            return found == annotations.end() ? "<not set>" : found->second;
        }
    }
    return "<not found>";
}

constexpr std::string_view header = "apiVersion: podsession.io/v1alpha1\nkind: PodSession\n";
constexpr std::string_view spec = "spec:\n  image: x\n  gpu: {types: [l4]}\n";

TEST(touch_file, replaces_an_existing_annotation_line_only) {
    const std::string text =
        std::string{header} +
        "metadata:\n  name: user-42  # the user\n  namespace: apps\n  annotations:\n"
        "    team: ml\n    podsession.io/last-touched: \"2026-12-04T19:00:00Z\"\n" +
        std::string{spec};
    const auto result = touched(text);
    EXPECT_EQ(annotation_of(result, "user-42"), "2026-12-04T20:00:00Z");
    EXPECT_NE(result.find("name: user-42  # the user"), std::string::npos);
    EXPECT_NE(result.find("    team: ml\n"), std::string::npos);
    EXPECT_EQ(result.size(), text.size());
}

TEST(touch_file, adds_annotation_to_existing_annotations) {
    const std::string text =
        std::string{header} +
        "metadata:\n  name: user-42\n  namespace: apps\n  annotations:\n    team: ml\n" +
        std::string{spec};
    const auto result = touched(text);
    EXPECT_EQ(annotation_of(result, "user-42"), "2026-12-04T20:00:00Z");
    EXPECT_NE(result.find("    team: ml\n"), std::string::npos);
}

TEST(touch_file, adds_annotations_block_when_missing) {
    const std::string text = std::string{header} +
                             "metadata:\n    name: user-42\n    namespace: apps\n" +
                             std::string{spec};
    const auto result = touched(text);
    EXPECT_EQ(annotation_of(result, "user-42"), "2026-12-04T20:00:00Z");
    EXPECT_NE(result.find("    annotations:\n      podsession.io/last-touched:"),
              std::string::npos);
}

TEST(touch_file, replaces_an_empty_annotations_mapping) {
    const std::string text = std::string{header} +
                             "metadata:\n  name: user-42\n  namespace: apps\n  annotations: {}\n" +
                             std::string{spec};
    EXPECT_EQ(annotation_of(touched(text), "user-42"), "2026-12-04T20:00:00Z");
}

TEST(touch_file, touches_only_the_named_document) {
    const std::string text = std::string{header} + "metadata: {name: other, namespace: apps}\n" +
                             std::string{spec} + "---\n" + std::string{header} +
                             "metadata:\n  name: user-42\n  namespace: apps\n" + std::string{spec};
    const auto result = touched(text);
    EXPECT_EQ(annotation_of(result, "user-42"), "2026-12-04T20:00:00Z");
    EXPECT_EQ(result.find("other, namespace: apps}"), text.find("other, namespace: apps}"));
    EXPECT_EQ(annotation_of(result, "other"), "<not set>");
}

TEST(touch_file, rewrites_flow_style_metadata) {
    const std::string text =
        std::string{header} + "metadata: {name: user-42, namespace: apps}\n" + std::string{spec};
    const auto edit = touch_session_text(text, "apps", "user-42", when);
    ASSERT_TRUE(edit.has_value());
    EXPECT_TRUE(edit->reformatted);
    EXPECT_EQ(annotation_of(edit->text, "user-42"), "2026-12-04T20:00:00Z");
}

TEST(touch_file, matches_the_default_namespace) {
    const std::string text =
        std::string{header} + "metadata:\n  name: user-42\n" + std::string{spec};
    EXPECT_EQ(annotation_of(touched(text, "user-42", "default"), "user-42"),
              "2026-12-04T20:00:00Z");
    EXPECT_FALSE(touch_session_text(text, "apps", "user-42", when).has_value());
}

TEST(touch_file, rejects_annotations_that_are_not_a_mapping) {
    for (const std::string annotations :
         {"  annotations: just text\n", "  annotations: [a, b]\n"}) {
        SCOPED_TRACE(annotations);
        const std::string text =
            std::string{header} + "metadata:\n  name: user-42\n" + annotations + std::string{spec};
        const auto edit = touch_session_text(text, "default", "user-42", when);
        ASSERT_FALSE(edit.has_value());
        EXPECT_EQ(edit.error(), boost::system::errc::invalid_argument);
    }
}

TEST(touch_file, fails_for_an_unknown_session) {
    const std::string text =
        std::string{header} + "metadata:\n  name: user-42\n" + std::string{spec};
    EXPECT_FALSE(touch_session_text(text, "default", "user-43", when).has_value());
    EXPECT_FALSE(touch_session_text("{{{ not yaml", "default", "user-42", when).has_value());
}

TEST(touch_file, skips_alias_bomb_document) {
    const std::string bomb = testing::alias_bomb_session();
    const std::string text = bomb + "---\n" + std::string{header} +
                             "metadata:\n  name: user-42\n  namespace: apps\n" + std::string{spec};
    const auto start = steady_clock::now();
    const auto edit = touch_session_text(text, "apps", "user-42", when);
    ASSERT_TRUE(edit.has_value());
    EXPECT_TRUE(edit->text.starts_with(bomb));
    EXPECT_EQ(annotation_of(edit->text, "user-42"), "2026-12-04T20:00:00Z");

    // The bomb declares default/b1, but cannot be read to find that out.
    const auto missing = touch_session_text(text, "default", "b1", when);
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error(), boost::system::errc::no_such_file_or_directory);
    EXPECT_LT(steady_clock::now() - start, seconds{2});
}

TEST(touch_file, touches_a_document_that_uses_aliases) {
    const std::string text = std::string{header} +
                             "metadata:\n  name: &name user-42\n  namespace: apps\n  labels: "
                             "{user: *name}\n" +
                             std::string{spec};
    EXPECT_EQ(annotation_of(touched(text), "user-42"), "2026-12-04T20:00:00Z");
}

}  // namespace
}  // namespace podsession::controller
