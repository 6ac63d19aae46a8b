#pragma once

#include <sys/stat.h>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "controller/log.hpp"
#include "controller/session_store.hpp"
#include "crd/status_codec.hpp"

namespace podsession::controller {

// Directory mode: every `*.yaml`/`*.yml` file in a folder declares sessions.
// Files are read at start, on inotify events and by a periodic rescan that
// catches what inotify misses. Status goes to `DIR/.status/<namespace>/<name>.yaml`
// and the token to `<name>.token` beside it (mode 0600), both written
// atomically. A file that stops parsing keeps its sessions as they last were,
// so a half-saved edit never ends a session; deleting the file deletes them.
class directory_store final : public session_store {
  public:
    struct options {
        std::filesystem::path directory;
        std::chrono::milliseconds rescan_interval{std::chrono::seconds{10}};
        // Mints the UID of a session seen for the first time.
        std::function<std::string()> make_uid;
        // Makes a session token; OpenSSL's generator when unset.
        std::function<boost::system::result<auth::session_token>()> make_token;
    };

    directory_store(boost::asio::any_io_executor executor, options config);
    ~directory_store() override;

    boost::asio::awaitable<void> run(session_sink& sink) override;
    void stop() override;

    boost::asio::awaitable<boost::system::error_code> write_status(
        const crd::object_meta& metadata, const crd::pod_session_status& status) override;
    boost::asio::awaitable<boost::system::result<auth::session_token>> ensure_token(
        const crd::object_meta& metadata) override;
    boost::asio::awaitable<boost::system::error_code> prepare_create(
        const crd::object_meta& metadata) override;
    boost::asio::awaitable<boost::system::error_code> release(
        const crd::object_meta& metadata) override;
    boost::asio::awaitable<void> refresh(const crd::object_meta& metadata) override;
    bool may_adopt_uid(const crd::object_meta& metadata) const override;
    bool adopt_uid(const crd::object_meta& metadata, const std::string& uid) override;
    void record_event(const crd::object_meta& metadata, const reconcile::note& item) override;
    void describe_token(const crd::object_meta& metadata,
                        crd::pod_session_status& status) const override;

    [[nodiscard]] std::filesystem::path status_path(const crd::object_meta& metadata) const;
    [[nodiscard]] std::filesystem::path token_path(const crd::object_meta& metadata) const;

    // Work done so far, for tests that check what a rescan reads.
    struct scan_counts {
        // Scans of the whole directory, the first one at start included.
        std::uint64_t scans = 0;
        // Session files read and parsed, on any path.
        std::uint64_t files_read = 0;
    };
    [[nodiscard]] const scan_counts& counts() const noexcept { return counts_; }

  private:
    // The fields that show whether a file changed, without reading it.
    struct file_stamp {
        // `st_mtim` in nanoseconds since the epoch.
        std::int64_t modified_ns = 0;
        std::uintmax_t size = 0;
        std::uint64_t inode = 0;
        bool operator==(const file_stamp&) const = default;
    };

    struct file_record {
        file_stamp stamp;
        std::set<std::string> keys;
        // Some document could not be read, so the file may declare sessions that
        // `keys` does not list.
        bool incomplete = false;
        // The number of the last full scan that found the file.
        std::uint64_t seen_in_scan = 0;
    };

    // Orders paths by their text, which for the keys of `files_` (all
    // `directory/name`) is the order of their names.
    struct path_text_less {
        bool operator()(const std::filesystem::path& a, const std::filesystem::path& b) const {
            return a.native() < b.native();
        }
    };
    using file_table = std::map<std::filesystem::path, file_record, path_text_less>;

    struct session_record {
        crd::object_meta metadata;
        std::filesystem::path file;
        std::optional<crd::pod_session_spec> spec;
        std::vector<std::string> errors;
        std::optional<crd::pod_session_status> status;
        bool declared = false;
        // Restored from its status file at start because some session file could
        // not be read and may declare it. It runs on the spec its status file
        // records (no creates) until every file reads again.
        bool held = false;
        // Deleted, and declared again before its pod was confirmed gone: it comes
        // back as a new session, with a new UID, once the old one is released.
        bool declared_again = false;
        declared_session pending_redeclaration;
        // The UID was minted here: the file names none and no status file
        // recorded one.
        bool uid_minted = false;
    };

    // Reads every session file that changed. A rescan skips files written in
    // the last moment, which an editor may still be writing; inotify reports
    // them when they are closed.
    void scan_all(bool skip_fresh_files);
    // Reads the file if its stamp differs from the one last read.
    void load_file(const std::filesystem::path& path);
    void load_file(const std::filesystem::path& path, const file_stamp& stamp);
    static file_stamp stamp_of(const struct ::stat& info);
    void release_held_sessions();
    void drop_file(const std::filesystem::path& path);
    void load_orphaned_status_files();
    void declare(const std::filesystem::path& file, const crd::object_meta& metadata,
                 std::optional<crd::pod_session_spec> spec, std::vector<std::string> errors);
    void undeclare(const std::string& key, const std::filesystem::path& file);
    std::optional<crd::status_file> read_status_file(const crd::object_meta& metadata) const;
    void publish(const std::string& key);

    boost::asio::awaitable<void> watch_inotify();
    boost::asio::awaitable<void> rescan_periodically();

    boost::asio::any_io_executor executor_;
    options config_;
    session_sink* sink_ = nullptr;
    file_table files_;
    // Every entry of `files_` by its path's text, so that a rescan finds each
    // file with one hash instead of comparing long common prefixes.
    std::unordered_map<std::string, file_table::iterator> files_by_text_;
    std::map<std::string, session_record, std::less<>> sessions_;
    std::set<std::filesystem::path> pending_changes_;
    boost::asio::steady_timer wake_;
    bool stopped_ = false;
    // One status write failure per file and error is logged a minute.
    log::repeat_limiter write_failures_{std::chrono::seconds{60}};
    int inotify_fd_ = -1;
    scan_counts counts_;
    // Whether some session may be `held`: set when one is, cleared when every
    // file reads again and they are released. It spares each scan a walk over
    // every session.
    bool holds_sessions_ = false;
};

// A random version 4 UUID from OpenSSL's generator.
[[nodiscard]] std::string make_random_uid();

}  // namespace podsession::controller
