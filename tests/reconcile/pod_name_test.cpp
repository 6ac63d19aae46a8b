#include "reconcile/pod_name.hpp"

#include <string>

#include <gtest/gtest.h>

namespace podsession::reconcile {
namespace {

TEST(pod_name, follows_the_naming_scheme) {
    EXPECT_EQ(make_pod_name("default", "apps", "user-42", "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"),
              "psn-default-apps-user-42-1a2b3c4d");
}

TEST(pod_name, takes_hex_digits_across_dashes_and_lowercases) {
    EXPECT_EQ(make_pod_name("c1", "ns", "n", "1a2b-3C4D-5e6f"), "psn-c1-ns-n-1a2b3c4d");
}

TEST(pod_name, cuts_long_names_to_the_runpod_limit) {
    const std::string long_namespace(63, 'n');
    const std::string long_name = std::string(200, 'a') + "-tail-end";
    const auto first =
        make_pod_name("controllerid1234", long_namespace, long_name, "00000001-aaaa");
    const auto second =
        make_pod_name("controllerid1234", long_namespace, long_name, "00000002-aaaa");

    EXPECT_EQ(first.size(), max_pod_name_length);
    EXPECT_EQ(second.size(), max_pod_name_length);
    EXPECT_NE(first, second);
    EXPECT_TRUE(first.starts_with("psn-controllerid1234-nnnn"));
    EXPECT_TRUE(first.ends_with("-tail-end-00000001"));
    EXPECT_NE(first.find("--"), std::string::npos);
}

TEST(pod_name, keeps_names_that_fit_uncut) {
    const std::string name(150, 'b');
    const auto pod_name = make_pod_name("default", "ns", name, "0123abcd");
    EXPECT_EQ(pod_name, "psn-default-ns-" + name + "-0123abcd");
    EXPECT_LE(pod_name.size(), max_pod_name_length);
}

TEST(pod_name, prefix_of_one_id_never_matches_another) {
    const auto pod = make_pod_name("prod", "ns", "n", "0123abcd");
    EXPECT_TRUE(pod.starts_with(pod_name_prefix("prod")));
    EXPECT_FALSE(pod.starts_with(pod_name_prefix("pro")));
    EXPECT_FALSE(pod.starts_with(pod_name_prefix("prod2")));
}

}  // namespace
}  // namespace podsession::reconcile
