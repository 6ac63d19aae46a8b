#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "controller/directory_store.hpp"
#include "controller/session_files.hpp"

namespace podsession::controller {
namespace {

namespace fs = std::filesystem;

class recording_sink final : public session_sink {
  public:
    void upsert(declared_session session) override { upserts.push_back(std::move(session)); }
    void forget(const std::string& key) override { forgotten.push_back(key); }
    void mark_synced() override { synced = true; }

    std::vector<declared_session> upserts;
    std::vector<std::string> forgotten;
    bool synced = false;
};

std::string session_file(std::string_view touched) {
    return "apiVersion: podsession.io/v1alpha1\n"
           "kind: PodSession\n"
           "metadata:\n"
           "  name: alice\n"
           "  namespace: apps\n"
           "  annotations:\n"
           "    podsession.io/last-touched: \"" +
           std::string{touched} +
           "\"\n"
           "spec:\n"
           "  image: ghcr.io/example/inference:1\n"
           "  gpu: {types: [h100]}\n"
           "  ports: [{port: 8000, protocol: http}]\n"
           "  idleTTLSeconds: 60\n";
}

class directory_store_test : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "podsession-store-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        directory = pattern;
    }

    void TearDown() override {
        std::error_code ignored;
        fs::remove_all(directory, ignored);
    }

    // Replaces the file the way an editor or the touch command does: a new
    // inode renamed over the old one.
    void write(const std::string& name, const std::string& text) {
        const auto temporary = directory / (name + ".tmp");
        std::ofstream{temporary} << text;
        fs::rename(temporary, directory / name);
    }

    std::string touched(const declared_session& session) {
        return session.metadata.annotations.at("podsession.io/last-touched");
    }

    fs::path directory;
    boost::asio::io_context io;
    recording_sink sink;
};

TEST_F(directory_store_test, refresh_reads_a_change_no_event_delivered) {
    write("alice.yaml", session_file("2026-12-04T10:00:00Z"));
    directory_store::options options;
    options.directory = directory;
    options.rescan_interval = std::chrono::hours{1};
    options.make_uid = [] { return std::string{"uid-1"}; };
    directory_store store{io.get_executor(), options};
    boost::asio::co_spawn(io, store.run(sink), boost::asio::detached);
    io.poll();
    ASSERT_TRUE(sink.synced);
    ASSERT_EQ(sink.upserts.size(), 1u);
    const auto metadata = sink.upserts.back().metadata;

    // With the store stopped, no inotify event or rescan reads the file: only
    // the refresh can deliver the touch.
    store.stop();
    io.poll();
    write("alice.yaml", session_file("2026-12-04T10:05:00Z"));
    boost::asio::co_spawn(io, store.refresh(metadata), boost::asio::detached);
    io.poll();
    ASSERT_EQ(sink.upserts.size(), 2u);
    EXPECT_EQ(touched(sink.upserts.back()), "2026-12-04T10:05:00Z");
    EXPECT_EQ(sink.upserts.back().metadata.uid, "uid-1");

    // An unchanged file is not read again, so nothing new is delivered.
    boost::asio::co_spawn(io, store.refresh(metadata), boost::asio::detached);
    io.poll();
    EXPECT_EQ(sink.upserts.size(), 2u);
}

TEST_F(directory_store_test, releases_deleted_session_never_written) {
    write("alice.yaml", session_file("2026-12-04T10:00:00Z"));
    directory_store::options options;
    options.directory = directory;
    options.rescan_interval = std::chrono::hours{1};
    directory_store store{io.get_executor(), options};
    boost::asio::co_spawn(io, store.run(sink), boost::asio::detached);
    io.poll();
    ASSERT_EQ(sink.upserts.size(), 1u);
    const auto metadata = sink.upserts.back().metadata;
    store.stop();
    io.poll();

    // A regular file where the namespace folder belongs makes every status
    // write fail, even for root.
    std::ofstream{directory / ".status" / "apps"} << "not a folder\n";
    fs::remove(directory / "alice.yaml");
    boost::asio::co_spawn(io, store.refresh(metadata), boost::asio::detached);
    io.poll();
    ASSERT_EQ(sink.upserts.size(), 2u);
    ASSERT_TRUE(sink.upserts.back().deleting);

    crd::pod_session_status status;
    status.phase = crd::session_phase::terminating;
    std::optional<boost::system::error_code> write_error;
    boost::asio::co_spawn(io, store.write_status(metadata, status),
                          [&](std::exception_ptr, boost::system::error_code error) {
                              write_error = error;
                          });
    io.restart();
    io.poll();
    ASSERT_TRUE(write_error.has_value());
    EXPECT_FALSE(*write_error) << write_error->message();

    std::optional<boost::system::error_code> release_error;
    boost::asio::co_spawn(io, store.release(metadata),
                          [&](std::exception_ptr, boost::system::error_code error) {
                              release_error = error;
                          });
    io.restart();
    io.poll();
    ASSERT_TRUE(release_error.has_value());
    EXPECT_FALSE(*release_error) << release_error->message();
}

TEST(session_files, invalid_namespace_names_no_session) {
    // With the namespace invalid the decoder keeps `default`; taking the key
    // default/x from it would block the file that really declares default/x.
    const auto file = decode_session_file(
        "apiVersion: podsession.io/v1alpha1\nkind: PodSession\nmetadata:\n  name: x\n"
        "  namespace: a.b\nspec:\n  image: x\n  gpu: {types: [h100]}\n");
    ASSERT_EQ(file.entries.size(), 1u);
    const auto& entry = file.entries[0];
    EXPECT_TRUE(entry.key.empty());
    ASSERT_EQ(entry.result.errors.size(), 1u);
    EXPECT_EQ(entry.result.errors[0].path, "metadata.namespace");
}

TEST(session_files, rejects_names_too_long_for_file_names) {
    const auto document = [](std::size_t length) {
        std::string name;
        while (name.size() < length) {
            name += name.empty() ? "" : ".";
            name += std::string(std::min<std::size_t>(60, length - name.size()), 'a');
        }
        return "apiVersion: podsession.io/v1alpha1\nkind: PodSession\nmetadata:\n  name: " + name +
               "\nspec:\n  image: x\n  gpu: {types: [h100]}\n";
    };
    const auto longest = decode_session_file(document(max_directory_name_length));
    ASSERT_EQ(longest.entries.size(), 1u);
    EXPECT_TRUE(longest.entries[0].result.errors.empty());
    EXPECT_FALSE(longest.entries[0].key.empty());

    const auto too_long = decode_session_file(document(max_directory_name_length + 1));
    ASSERT_EQ(too_long.entries.size(), 1u);
    const auto& entry = too_long.entries[0];
    EXPECT_TRUE(entry.key.empty());
    ASSERT_EQ(entry.result.errors.size(), 1u);
    EXPECT_EQ(format_file_error("s/long.yaml", entry, entry.result.errors[0]),
              "s/long.yaml:4: metadata.name: is 242 characters long; directory mode allows at "
              "most 241, because the token file .NAME.token.XXXXXX must fit the 255-byte file "
              "name limit; shorten the name");
}

}  // namespace
}  // namespace podsession::controller
