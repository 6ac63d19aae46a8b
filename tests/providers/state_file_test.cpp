#include "providers/simulated/state_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>

namespace podsession::providers::simulated {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::string_view create_body = R"({
    "name": "psn-a-default-user-1-0123abcd", "image": "img",
    "gpu": {"id": "NVIDIA GeForce RTX 4090", "count": 1},
    "ports": ["8000/http"], "env": {"ATLAS_PRESHARED_KEY": "token-0123"}})";

std::string read_text(const fs::path& path) {
    std::ifstream file{path, std::ios::binary};
    return {std::istreambuf_iterator<char>{file}, std::istreambuf_iterator<char>{}};
}

void write_text(const fs::path& path, std::string_view text) {
    std::ofstream file{path, std::ios::binary};
    file << text;
}

// Returns the message of the `std::runtime_error` that `action` throws.
template <typename Action>
std::string thrown_message(Action action) {
    try {
        action();
    } catch (const std::runtime_error& error) {
        return error.what();
    }
    ADD_FAILURE() << "no std::runtime_error was thrown";
    return {};
}

class state_file_test : public ::testing::Test {
  protected:
    state_file_test() {
        folder_ = fs::temp_directory_path() / ("podsession-state-" + std::to_string(::getpid()) +
                                               "-" + std::to_string(++instances_));
        fs::remove_all(folder_);
        fs::create_directories(folder_);
        path_ = folder_ / "simulated-runpod.json";
        options_.seed = 7;
    }
    ~state_file_test() override { fs::remove_all(folder_); }

    std::string create(pod_store& store) {
        const auto created = store.create(create_body);
        EXPECT_EQ(created.status, 201U) << created.body;
        return std::string{json::parse(created.body).at("id").as_string()};
    }

    // The ids of the pods in the file as it is now.
    std::vector<std::string> saved_ids() {
        std::vector<std::string> ids;
        const auto document = json::parse(read_text(path_));
        for (const auto& pod : document.at("pods").as_array()) {
            ids.emplace_back(pod.at("id").as_string());
        }
        return ids;
    }

    static inline int instances_ = 0;
    fs::path folder_;
    fs::path path_;
    store_options options_;
    boost::asio::io_context io_;
};

TEST_F(state_file_test, missing_file_is_created_private) {
    pod_store store{options_};
    state_file saved{io_.get_executor(), store, path_};

    ASSERT_TRUE(fs::exists(path_));
    struct stat info {};
    ASSERT_EQ(::stat(path_.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 07777, 0600U);
    EXPECT_EQ(saved_ids(), std::vector<std::string>{});
    EXPECT_EQ(saved.save_count(), 1U);
    EXPECT_EQ(store.live_pod_count(), 0U);
}

TEST_F(state_file_test, pods_survive_a_restart) {
    std::string id;
    {
        pod_store store{options_};
        state_file saved{io_.get_executor(), store, path_};
        id = create(store);
        ASSERT_FALSE(saved.flush());
    }

    pod_store restarted{options_};
    state_file saved{io_.get_executor(), restarted, path_};
    const auto found = restarted.get(id);
    ASSERT_EQ(found.status, 200U) << found.body;
    EXPECT_EQ(json::parse(found.body).at("env").at("ATLAS_PRESHARED_KEY"), "token-0123");
}

TEST_F(state_file_test, rewrite_stays_private) {
    pod_store store{options_};
    state_file saved{io_.get_executor(), store, path_};
    ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
    (void)create(store);
    ASSERT_FALSE(saved.flush());

    struct stat info {};
    ASSERT_EQ(::stat(path_.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 07777, 0600U);
    // No temporary file is left beside it.
    EXPECT_EQ(std::distance(fs::directory_iterator{folder_}, fs::directory_iterator{}), 1);
}

TEST_F(state_file_test, changes_are_saved_together) {
    pod_store store{options_};
    state_file saved{io_.get_executor(), store, path_, 0ms};
    std::vector<std::string> ids;
    for (int i = 0; i < 100; ++i) {
        ids.push_back(create(store));
    }
    EXPECT_TRUE(saved.pending());
    EXPECT_EQ(saved.save_count(), 1U);

    io_.run();
    EXPECT_FALSE(saved.pending());
    EXPECT_EQ(saved.save_count(), 2U);
    EXPECT_EQ(saved_ids(), ids);
}

TEST_F(state_file_test, change_waits_for_interval) {
    pod_store store{options_};
    state_file saved{io_.get_executor(), store, path_, 1h};
    const auto id = create(store);

    // The start's save was just now, so the next one is due in an hour.
    io_.poll();
    EXPECT_TRUE(saved.pending());
    EXPECT_EQ(saved_ids(), std::vector<std::string>{});

    ASSERT_FALSE(saved.flush());
    EXPECT_FALSE(saved.pending());
    EXPECT_EQ(saved_ids(), std::vector<std::string>{id});
    EXPECT_EQ(saved.save_count(), 2U);
    // Nothing pending: a second flush writes nothing.
    ASSERT_FALSE(saved.flush());
    EXPECT_EQ(saved.save_count(), 2U);
    io_.run();
    EXPECT_EQ(saved.save_count(), 2U);
}

TEST_F(state_file_test, deletes_are_saved) {
    pod_store store{options_};
    state_file saved{io_.get_executor(), store, path_, 0ms};
    const auto kept = create(store);
    const auto removed = create(store);
    io_.run();
    ASSERT_EQ(saved_ids(), (std::vector<std::string>{kept, removed}));

    ASSERT_EQ(store.remove(removed).status, 204U);
    io_.restart();
    io_.run();
    EXPECT_EQ(saved_ids(), std::vector<std::string>{kept});
}

TEST_F(state_file_test, corrupt_file_is_an_error_and_kept) {
    const std::string corrupt = R"({"version": 1, "pods": [)";
    write_text(path_, corrupt);
    pod_store store{options_};

    const auto message = thrown_message([&] {
        state_file saved{io_.get_executor(), store, path_};
    });
    EXPECT_NE(message.find(path_.string()), std::string::npos) << message;
    EXPECT_NE(message.find("invalid JSON at line 1, column 25"), std::string::npos) << message;
    EXPECT_NE(message.find("delete it to start the simulator with no pods"), std::string::npos)
        << message;
    EXPECT_EQ(read_text(path_), corrupt);
}

TEST_F(state_file_test, invalid_pod_is_an_error) {
    write_text(path_, R"({"version": 1, "pods": [{"id": ""}]})");
    pod_store store{options_};

    const auto message = thrown_message([&] {
        state_file saved{io_.get_executor(), store, path_};
    });
    EXPECT_NE(message.find(path_.string() + "\" is invalid: pods[0].id"), std::string::npos)
        << message;
}

TEST_F(state_file_test, folder_in_place_of_file_is_an_error) {
    fs::create_directories(path_);
    pod_store store{options_};

    const auto message = thrown_message([&] {
        state_file saved{io_.get_executor(), store, path_};
    });
    EXPECT_NE(message.find("is not a regular file"), std::string::npos) << message;
}

TEST_F(state_file_test, missing_folder_is_an_error) {
    pod_store store{options_};
    const auto path = folder_ / "missing" / "state.json";

    const auto message = thrown_message([&] { state_file saved{io_.get_executor(), store, path}; });
    EXPECT_NE(message.find("cannot write the simulator state file \"" + path.string()),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("check that its folder exists"), std::string::npos) << message;
}

TEST_F(state_file_test, destroyed_file_stops_listening) {
    pod_store store{options_};
    {
        state_file saved{io_.get_executor(), store, path_, 0ms};
        (void)create(store);
    }
    (void)create(store);
    io_.run();
    EXPECT_EQ(saved_ids(), std::vector<std::string>{});
}

}  // namespace
}  // namespace podsession::providers::simulated
