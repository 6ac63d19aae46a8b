#include "auth/secret_file.hpp"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "auth/error.hpp"

namespace podsession::auth {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the test's temporary directory, removed at the end.
class secret_file : public testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "podsession-secret-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        directory_ = pattern;
    }

    void TearDown() override {
        std::error_code ignored;
        fs::remove_all(directory_, ignored);
    }

    [[nodiscard]] fs::path write(const std::string& name, const std::string& content,
                                 fs::perms permissions = fs::perms::owner_read |
                                                         fs::perms::owner_write) {
        const auto path = directory_ / name;
        std::ofstream{path, std::ios::binary} << content;
        fs::permissions(path, permissions);
        return path;
    }

    fs::path directory_;
};

TEST_F(secret_file, strips_one_trailing_newline) {
    struct test_case {
        std::string content;
        std::string secret;
    };
    const test_case cases[] = {
        {"s3cret", "s3cret"},       {"s3cret\n", "s3cret"},
        {"s3cret\n\n", "s3cret\n"}, {"s3cret\r\n", "s3cret\r"},
        {" s3cret \n", " s3cret "}, {std::string("a\0b\n", 4), std::string("a\0b", 3)},
    };
    int index = 0;
    for (const auto& [content, secret] : cases) {
        SCOPED_TRACE(index);
        const auto path = write("secret-" + std::to_string(index++), content);
        const auto result = read_secret_file(path);
        ASSERT_TRUE(result) << result.error().message;
        EXPECT_EQ(result->reveal(), secret);
    }
}

TEST_F(secret_file, missing_file_names_path_and_fix) {
    const auto path = directory_ / "absent";
    const auto result = read_secret_file(path);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, boost::system::errc::no_such_file_or_directory);
    EXPECT_NE(result.error().message.find(path.string()), std::string::npos);
    EXPECT_NE(result.error().message.find("No such file or directory"), std::string::npos);
    EXPECT_NE(result.error().message.find("--secret-env"), std::string::npos);
}

TEST_F(secret_file, empty_file_is_an_error) {
    for (const std::string content : {"", "\n"}) {
        const auto result = read_secret_file(write("empty", content));
        ASSERT_FALSE(result);
        EXPECT_EQ(result.error().code, errc::empty_secret);
        EXPECT_NE(result.error().message.find("is empty"), std::string::npos);
    }
}

TEST_F(secret_file, directory_is_an_error) {
    const auto result = read_secret_file(directory_);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, boost::system::errc::is_a_directory);
}

TEST_F(secret_file, unreadable_file_is_an_error) {
    if (::geteuid() == 0) {
        GTEST_SKIP() << "root reads files whatever their mode";
    }
    const auto result = read_secret_file(write("locked", "s3cret", fs::perms::none));
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, boost::system::errc::permission_denied);
}

TEST_F(secret_file, size_limit) {
    const auto at_limit =
        read_secret_file(write("at-limit", std::string(max_secret_file_bytes, 'x')));
    ASSERT_TRUE(at_limit);
    EXPECT_EQ(at_limit->reveal().size(), max_secret_file_bytes);

    const auto over_limit =
        read_secret_file(write("over-limit", std::string(max_secret_file_bytes + 1, 'x')));
    ASSERT_FALSE(over_limit);
    EXPECT_EQ(over_limit.error().code, errc::secret_too_large);
}

TEST_F(secret_file, error_never_contains_secret) {
    const auto result =
        read_secret_file(write("large", std::string(max_secret_file_bytes, 'x') + "s3cret-marker"));
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().message.find("s3cret-marker"), std::string::npos);
}

TEST_F(secret_file, warns_about_group_or_world_readable_file) {
    const auto tight = write("tight", "s3cret");
    EXPECT_EQ(secret_file_warning(tight), std::nullopt);

    const auto group = write(
        "group", "s3cret", fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
    const auto warning = secret_file_warning(group);
    ASSERT_TRUE(warning);
    EXPECT_NE(warning->find("chmod 600"), std::string::npos);
    EXPECT_NE(warning->find(group.string()), std::string::npos);

    const auto world = write("world", "s3cret", fs::perms::owner_read | fs::perms::others_read);
    EXPECT_TRUE(secret_file_warning(world));
}

TEST(secret_env, reads_value) {
    ASSERT_EQ(::setenv("PODSESSION_TEST_SECRET", "from-env", 1), 0);
    const auto result = read_secret_env("PODSESSION_TEST_SECRET");
    ::unsetenv("PODSESSION_TEST_SECRET");
    ASSERT_TRUE(result);
    EXPECT_EQ(result->reveal(), "from-env");
}

TEST(secret_env, unset_or_empty_is_an_error) {
    ::unsetenv("PODSESSION_TEST_SECRET");
    const auto unset = read_secret_env("PODSESSION_TEST_SECRET");
    ASSERT_FALSE(unset);
    EXPECT_EQ(unset.error().code, errc::secret_env_unset);
    EXPECT_NE(unset.error().message.find("PODSESSION_TEST_SECRET"), std::string::npos);

    ASSERT_EQ(::setenv("PODSESSION_TEST_SECRET", "", 1), 0);
    const auto empty = read_secret_env("PODSESSION_TEST_SECRET");
    ::unsetenv("PODSESSION_TEST_SECRET");
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().code, errc::empty_secret);
}

TEST(read_secret, needs_exactly_one_location) {
    const auto neither = read_secret({});
    ASSERT_FALSE(neither);
    EXPECT_NE(neither.error().message.find("--secret-file"), std::string::npos);
    EXPECT_NE(neither.error().message.find("--secret-env"), std::string::npos);

    const auto both = read_secret({.file = "/nonexistent", .env_var = "HOME"});
    ASSERT_FALSE(both);
    EXPECT_NE(both.error().message.find("only one"), std::string::npos);
}

}  // namespace
}  // namespace podsession::auth
