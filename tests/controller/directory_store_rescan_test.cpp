#include "controller/directory_store.hpp"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

namespace podsession::controller {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Records what the store declares.
class recording_sink final : public session_sink {
  public:
    void upsert(declared_session session) override { upserts.push_back(std::move(session)); }
    void forget(const std::string& key) override { forgotten.push_back(key); }
    void mark_synced() override { synced = true; }

    // The annotations of the last upsert of `key`, or nothing.
    std::optional<std::map<std::string, std::string>> last_annotations(std::string_view key) const {
        for (auto it = upserts.rbegin(); it != upserts.rend(); ++it) {
            if (crd::session_key(it->metadata) == key) {
                return it->metadata.annotations;
            }
        }
        return std::nullopt;
    }

    std::vector<declared_session> upserts;
    std::vector<std::string> forgotten;
    bool synced = false;
};

std::string session_text(std::string_view name, std::string_view touched = "") {
    std::string text = "apiVersion: podsession.io/v1alpha1\nkind: PodSession\nmetadata:\n  name: ";
    text += name;
    text += "\n";
    if (!touched.empty()) {
        text += "  annotations:\n    podsession.io/last-touched: \"";
        text += touched;
        text += "\"\n";
    }
    text +=
        "spec:\n  userId: user\n  image: ghcr.io/example/inference:1.0\n  gpu:\n    types: "
        "[rtx-4090]\n"
        "  ports:\n    - {port: 8000, protocol: http}\n  idleTTLSeconds: 600\n";
    return text;
}

// Writes `text` into the existing inode at `path` (no rename), so that a hard
// link elsewhere shows the change too.
void overwrite(const fs::path& path, const std::string& text) {
    std::ofstream file{path, std::ios::binary | std::ios::trunc};
    file << text;
}

class directory_store_rescan_test : public ::testing::Test {
  protected:
    directory_store_rescan_test() {
        spdlog::set_level(spdlog::level::warn);
        std::string pattern = (fs::temp_directory_path() / "podsession-store-test-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error{"mkdtemp failed for " + pattern};
        }
        root = pattern;
        sessions = root / "sessions";
        outside = root / "outside";
        fs::create_directories(sessions);
        fs::create_directories(outside);
    }

    ~directory_store_rescan_test() override {
        if (store) {
            store->stop();
            io.run_for(100ms);
        }
        std::error_code ignored;
        fs::remove_all(root, ignored);
    }

    // Writes a session file whose modification time lies in the past, so that a
    // rescan does not skip it as possibly half written.
    void write_session(std::string_view name, std::string_view touched,
                       fs::file_time_type::duration age) {
        const auto path = sessions / (std::string{name} + ".yaml");
        overwrite(path, session_text(name, touched));
        fs::last_write_time(path, fs::file_time_type::clock::now() - age);
    }

    void start(std::chrono::milliseconds rescan_interval) {
        directory_store::options options;
        options.directory = sessions;
        options.rescan_interval = rescan_interval;
        options.make_uid = [this] { return "uid-" + std::to_string(++uids); };
        store = std::make_unique<directory_store>(io.get_executor(), std::move(options));
        boost::asio::co_spawn(io, store->run(sink), boost::asio::detached);
    }

    // Runs the store until `done` holds, for at most ten seconds.
    [[nodiscard]] bool run_until(const std::function<bool()>& done) {
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) {
                return false;
            }
            io.run_one_for(10ms);
        }
        return true;
    }

    // Runs the store through `count` more complete rescans.
    [[nodiscard]] bool run_rescans(std::uint64_t count) {
        const auto target = store->counts().scans + count;
        return run_until([&] { return store->counts().scans >= target; });
    }

    fs::path root;
    fs::path sessions;
    // A folder the store does not watch, for hard links that change a session
    // file without an inotify event in the sessions folder.
    fs::path outside;
    recording_sink sink;
    int uids = 0;
    std::unique_ptr<directory_store> store;
    // Declared last, so it is destroyed first, with the coroutines that refer
    // to the store and the sink.
    boost::asio::io_context io;
};

TEST_F(directory_store_rescan_test, rescan_rereads_only_changed_files) {
    write_session("a", "2026-12-04T10:00:00Z", 1h);
    write_session("b", "2026-12-04T10:00:00Z", 1h);
    fs::create_hard_link(sessions / "b.yaml", outside / "b.yaml");

    start(5ms);
    ASSERT_TRUE(run_until([&] { return store->counts().scans >= 1; }));
    EXPECT_TRUE(sink.synced);
    EXPECT_EQ(store->counts().files_read, 2u);
    EXPECT_EQ(sink.upserts.size(), 2u);

    // Unchanged files are neither read again nor declared again.
    ASSERT_TRUE(run_rescans(5));
    EXPECT_EQ(store->counts().files_read, 2u);
    EXPECT_EQ(sink.upserts.size(), 2u);

    // A change through the hard link raises no inotify event in the sessions
    // folder, so only a rescan can find it.
    overwrite(outside / "b.yaml", session_text("b", "2026-12-04T11:30:00Z"));
    fs::last_write_time(outside / "b.yaml", fs::file_time_type::clock::now() - 30min);
    ASSERT_TRUE(run_until([&] {
        const auto annotations = sink.last_annotations("default/b");
        return annotations &&
               annotations->at("podsession.io/last-touched") == "2026-12-04T11:30:00Z";
    }));
    EXPECT_EQ(store->counts().files_read, 3u);

    ASSERT_TRUE(run_rescans(5));
    EXPECT_EQ(store->counts().files_read, 3u);
    EXPECT_EQ(sink.upserts.size(), 3u);
    for (const auto& session : sink.upserts) {
        EXPECT_FALSE(session.deleting) << crd::session_key(session.metadata);
    }
}

TEST_F(directory_store_rescan_test, deleted_file_deletes_its_session) {
    write_session("a", "2026-12-04T10:00:00Z", 1h);
    write_session("b", "2026-12-04T10:00:00Z", 1h);
    start(5ms);
    ASSERT_TRUE(run_until([&] { return store->counts().scans >= 1; }));

    fs::remove(sessions / "a.yaml");
    ASSERT_TRUE(run_until([&] { return !sink.upserts.empty() && sink.upserts.back().deleting; }));
    EXPECT_EQ(crd::session_key(sink.upserts.back().metadata), "default/a");

    // The file left behind keeps its session through later rescans.
    const auto upserts = sink.upserts.size();
    ASSERT_TRUE(run_rescans(5));
    EXPECT_EQ(sink.upserts.size(), upserts);
}

}  // namespace
}  // namespace podsession::controller
