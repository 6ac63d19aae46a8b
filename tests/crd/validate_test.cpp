#include "crd/validate.hpp"

#include <string>

#include <gtest/gtest.h>

namespace podsession::crd {
namespace {

TEST(validate, dns1123_label) {
    EXPECT_TRUE(is_dns1123_label("apps"));
    EXPECT_TRUE(is_dns1123_label("a-1"));
    EXPECT_TRUE(is_dns1123_label(std::string(63, 'a')));
    EXPECT_FALSE(is_dns1123_label(std::string(64, 'a')));
    EXPECT_FALSE(is_dns1123_label(""));
    EXPECT_FALSE(is_dns1123_label("-a"));
    EXPECT_FALSE(is_dns1123_label("a-"));
    EXPECT_FALSE(is_dns1123_label("Apps"));
    EXPECT_FALSE(is_dns1123_label("a.b"));
}

TEST(validate, dns1123_subdomain) {
    EXPECT_TRUE(is_dns1123_subdomain("user-42"));
    EXPECT_TRUE(is_dns1123_subdomain("user.42"));
    EXPECT_FALSE(is_dns1123_subdomain("user..42"));
    EXPECT_FALSE(is_dns1123_subdomain("user/42"));
    EXPECT_FALSE(is_dns1123_subdomain("User"));
    EXPECT_FALSE(is_dns1123_subdomain(std::string(254, 'a')));
}

TEST(validate, env_names_and_reserved_prefixes) {
    EXPECT_TRUE(is_env_var_name("MODEL"));
    EXPECT_TRUE(is_env_var_name("_x1"));
    EXPECT_FALSE(is_env_var_name("1X"));
    EXPECT_FALSE(is_env_var_name("A-B"));
    EXPECT_FALSE(is_env_var_name(""));
    EXPECT_TRUE(is_reserved_env_name("ATLAS_PRESHARED_KEY"));
    EXPECT_TRUE(is_reserved_env_name("PODSESSION_UID"));
    EXPECT_FALSE(is_reserved_env_name("ATLAS"));
    EXPECT_FALSE(is_reserved_env_name("MY_ATLAS_KEY"));
}

TEST(validate, cuda_versions_and_data_centres) {
    EXPECT_TRUE(is_cuda_version("12.4"));
    EXPECT_TRUE(is_cuda_version("12.11"));
    EXPECT_FALSE(is_cuda_version("12"));
    EXPECT_FALSE(is_cuda_version("12.4.1"));
    EXPECT_FALSE(is_cuda_version(".4"));
    EXPECT_TRUE(is_data_center_id("US-TX-3"));
    EXPECT_FALSE(is_data_center_id("US TX 3"));
}

TEST(validate, session_uids_and_controller_ids) {
    EXPECT_TRUE(is_session_uid("3f1c9e2a-5b7d-4e8f-9a0b-1c2d3e4f5a6b"));
    EXPECT_TRUE(is_session_uid("0123abcd"));
    EXPECT_FALSE(is_session_uid("0123abc"));
    EXPECT_FALSE(is_session_uid("3F1C9E2A-5B7D"));
    EXPECT_FALSE(is_session_uid("user-42-uid"));
    EXPECT_TRUE(is_controller_id("default"));
    EXPECT_TRUE(is_controller_id("prod1"));
    EXPECT_FALSE(is_controller_id("prod-1"));
    EXPECT_FALSE(is_controller_id(""));
    EXPECT_FALSE(is_controller_id("abcdefghijklmnopq"));
}

}  // namespace
}  // namespace podsession::crd
