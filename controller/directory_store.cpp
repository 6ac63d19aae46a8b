#include "controller/directory_store.hpp"

#include <dirent.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/errc.hpp>

#include "controller/files.hpp"
#include "controller/log.hpp"
#include "controller/session_files.hpp"
#include "crd/status_codec.hpp"
#include "crd/validate.hpp"

namespace podsession::controller {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace asio::experimental::awaitable_operators;

// Editors write a file in several steps; changes are gathered this long before
// the file is read.
constexpr auto settle_delay = std::chrono::milliseconds{50};
// A token is 32 random bytes in base64url without padding.
constexpr std::size_t token_length = 43;

std::int64_t nanoseconds_since_epoch(std::chrono::system_clock::time_point time) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
}

// The text that `directory / name` starts with, as `std::filesystem::path`
// joins them.
std::string directory_prefix(const fs::path& directory) {
    std::string prefix = directory.native();
    if (!prefix.empty() && prefix.back() != '/') {
        prefix += '/';
    }
    return prefix;
}

void report_unlistable_directory(const fs::path& directory, int error) {
    // An unreadable directory is not an empty one: keep every session.
    spdlog::error("cannot list sessions directory, keeping sessions as they are dir={} error={}",
                  log::quote(directory.string()), log::quote(std::strerror(error)));
}

bool is_token_text(std::string_view text) {
    return text.size() == token_length && std::ranges::all_of(text, [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
           });
}

}  // namespace

std::string make_random_uid() {
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
        throw std::runtime_error("OpenSSL RAND_bytes failed to produce a session UID");
    }
    bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);
    bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);
    char text[37];
    std::snprintf(text, sizeof text,
                  "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", bytes[0],
                  bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8],
                  bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]);
    return text;
}

directory_store::directory_store(asio::any_io_executor executor, options config)
    : executor_{executor}, config_{std::move(config)}, wake_{executor} {
    if (!config_.make_uid) {
        config_.make_uid = make_random_uid;
    }
    if (!config_.make_token) {
        config_.make_token = [] { return auth::generate_session_token(); };
    }
}

directory_store::~directory_store() {
    if (inotify_fd_ >= 0) {
        ::close(inotify_fd_);
    }
}

fs::path directory_store::status_path(const crd::object_meta& metadata) const {
    return config_.directory / status_folder / metadata.namespace_name / (metadata.name + ".yaml");
}

fs::path directory_store::token_path(const crd::object_meta& metadata) const {
    return config_.directory / status_folder / metadata.namespace_name / (metadata.name + ".token");
}

asio::awaitable<void> directory_store::run(session_sink& sink) {
    sink_ = &sink;
    std::error_code error;
    fs::create_directories(config_.directory / status_folder, error);
    if (error) {
        spdlog::error("cannot create status folder path={} error={}",
                      log::quote((config_.directory / status_folder).string()),
                      log::quote(error.message()));
    }

    // Watch before the first scan, so that no change falls between the two.
    inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (inotify_fd_ < 0 ||
        ::inotify_add_watch(inotify_fd_, config_.directory.c_str(),
                            IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE |
                                IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
        spdlog::warn(
            "inotify unavailable, relying on rescans dir={} error={} rescan_interval_ms={}",
            log::quote(config_.directory.string()), log::quote(std::strerror(errno)),
            config_.rescan_interval.count());
    }

    scan_all(false);
    load_orphaned_status_files();
    spdlog::info("sessions directory loaded dir={} files={} sessions={}",
                 log::quote(config_.directory.string()), files_.size(), sessions_.size());
    sink.mark_synced();

    co_await (watch_inotify() && rescan_periodically());
}

void directory_store::stop() {
    stopped_ = true;
    wake_.cancel();
    if (inotify_fd_ >= 0) {
        ::close(inotify_fd_);
        inotify_fd_ = -1;
    }
}

asio::awaitable<void> directory_store::watch_inotify() {
    if (inotify_fd_ < 0) {
        co_return;
    }
    asio::posix::stream_descriptor stream{executor_, ::dup(inotify_fd_)};
    alignas(inotify_event) char buffer[64 * 1024];
    asio::steady_timer settle{executor_};
    while (!stopped_) {
        auto [error, size] = co_await stream.async_read_some(asio::buffer(buffer),
                                                             asio::as_tuple(asio::use_awaitable));
        if (error || stopped_) {
            if (!stopped_) {
                spdlog::warn("inotify read failed, relying on rescans error={}",
                             log::quote(error.message()));
            }
            co_return;
        }
        bool rescan = false;
        for (std::size_t offset = 0; offset < size;) {
            const auto* event = reinterpret_cast<const inotify_event*>(buffer + offset);
            offset += sizeof(inotify_event) + event->len;
            if (event->mask & (IN_Q_OVERFLOW | IN_DELETE_SELF | IN_MOVE_SELF)) {
                rescan = true;
            } else if (event->len > 0) {
                const fs::path name{event->name};
                if (is_session_file_name(name)) {
                    pending_changes_.insert(config_.directory / name);
                }
            }
        }

        settle.expires_after(settle_delay);
        co_await settle.async_wait(asio::as_tuple(asio::use_awaitable));
        if (stopped_) {
            co_return;
        }
        if (rescan) {
            pending_changes_.clear();
            scan_all(false);
            continue;
        }
        auto changed = std::move(pending_changes_);
        pending_changes_.clear();
        // Loads before drops: a renamed file then hands its sessions to the new
        // name instead of deleting and declaring them again.
        std::vector<fs::path> gone;
        for (const auto& path : changed) {
            std::error_code exists_error;
            if (fs::is_regular_file(path, exists_error)) {
                load_file(path);
            } else {
                gone.push_back(path);
            }
        }
        for (const auto& path : gone) {
            drop_file(path);
        }
        release_held_sessions();
    }
}

asio::awaitable<void> directory_store::rescan_periodically() {
    while (!stopped_) {
        wake_.expires_after(config_.rescan_interval);
        co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
        if (stopped_) {
            co_return;
        }
        scan_all(true);
    }
}

void directory_store::scan_all(bool skip_fresh_files) {
    // A file modified this recently may be half written.
    constexpr std::int64_t settle_ns = 2'000'000'000;
    const std::int64_t now_ns = nanoseconds_since_epoch(std::chrono::system_clock::now());

    const std::unique_ptr<DIR, int (*)(DIR*)> directory{::opendir(config_.directory.c_str()),
                                                        ::closedir};
    if (!directory) {
        report_unlistable_directory(config_.directory, errno);
        return;
    }
    const std::uint64_t scan = counts_.scans + 1;

    // Each file gets one stat. A file with an unchanged stamp is only marked as
    // seen. The others are read after the listing, in name order, because the
    // first file to declare a session owns it.
    std::string path_text = directory_prefix(config_.directory);
    const auto prefix_size = path_text.size();
    std::vector<std::pair<fs::path, file_stamp>> changed;
    std::size_t known_found = 0;
    for (;;) {
        errno = 0;
        const dirent* entry = ::readdir(directory.get());
        if (entry == nullptr) {
            if (errno != 0) {
                report_unlistable_directory(config_.directory, errno);
                return;
            }
            break;
        }
        const std::string_view name{entry->d_name};
        if (!is_session_file_name(name)) {
            continue;
        }
        struct ::stat info {};
        // Follows a symbolic link, as reading the file does.
        if (::fstatat(::dirfd(directory.get()), entry->d_name, &info, 0) != 0 ||
            !S_ISREG(info.st_mode)) {
            continue;
        }
        const auto stamp = stamp_of(info);
        path_text.resize(prefix_size);
        path_text.append(name);
        if (const auto known = files_by_text_.find(path_text); known != files_by_text_.end()) {
            auto& record = known->second->second;
            record.seen_in_scan = scan;
            known_found += 1;
            if (record.stamp == stamp) {
                continue;
            }
        }
        if (skip_fresh_files && now_ns - stamp.modified_ns < settle_ns) {
            continue;
        }
        changed.emplace_back(fs::path{path_text}, stamp);
    }

    std::ranges::sort(changed, path_text_less{},
                      [](const auto& item) -> const fs::path& { return item.first; });
    for (const auto& [path, stamp] : changed) {
        load_file(path, stamp);
        if (const auto loaded = files_.find(path); loaded != files_.end()) {
            loaded->second.seen_in_scan = scan;
        }
    }
    // With nothing read, the table is as the listing found it, so it contains
    // unseen files only if it has more entries than the listing found.
    std::vector<fs::path> removed;
    if (!changed.empty() || known_found != files_.size()) {
        for (const auto& [path, record] : files_) {
            if (record.seen_in_scan != scan) {
                removed.push_back(path);
            }
        }
    }
    for (const auto& path : removed) {
        drop_file(path);
    }
    release_held_sessions();
    counts_.scans = scan;
}

void directory_store::release_held_sessions() {
    if (!holds_sessions_) {
        return;
    }
    const bool all_read = std::ranges::none_of(files_, [](const auto& file) { return file.second.incomplete; });
    if (!all_read) {
        return;
    }
    std::vector<std::string> released;
    for (auto& [key, record] : sessions_) {
        if (record.held) {
            released.push_back(key);
        }
    }
    holds_sessions_ = false;
    for (const auto& key : released) {
        auto& record = sessions_.at(key);
        record.held = false;
        spdlog::info("every session file reads again and none declares this session; deleting it session={}",
                     key);
        undeclare(key, record.file);
    }
}

void directory_store::load_file(const fs::path& path) {
    struct ::stat info {};
    if (::stat(path.c_str(), &info) != 0) {
        drop_file(path);
        return;
    }
    load_file(path, stamp_of(info));
}

directory_store::file_stamp directory_store::stamp_of(const struct ::stat& info) {
    return {static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec,
            static_cast<std::uintmax_t>(info.st_size), static_cast<std::uint64_t>(info.st_ino)};
}

void directory_store::load_file(const fs::path& path, const file_stamp& stamp) {
    const auto known = files_.find(path);
    if (known != files_.end() && known->second.stamp == stamp) {
        return;
    }

    counts_.files_read += 1;
    const auto text = read_file(path);
    if (!text) {
        spdlog::error(
            "cannot read session file, keeping its sessions as they were file={} error={}",
            log::quote(path.string()), log::quote(describe_read_error(text.error())));
        return;
    }
    const auto decoded = decode_session_file(*text);
    // A file without any document is most likely being rewritten in place; it
    // keeps its sessions like a file with a broken document. Deleting the file
    // deletes them.
    const bool incomplete = decoded.has_unparsable || decoded.entries.empty();
    if (decoded.entries.empty() && known != files_.end() && !known->second.keys.empty()) {
        spdlog::warn("session file holds no PodSession; keeping its sessions until it does or is deleted file={}",
                     log::quote(path.string()));
    }

    std::set<std::string> keys;
    for (const auto& entry : decoded.entries) {
        for (const auto& error : entry.result.errors) {
            spdlog::warn("invalid PodSession error={}",
                         log::quote(format_file_error(path, entry, error)));
        }
        if (entry.key.empty()) {
            continue;
        }
        if (keys.contains(entry.key)) {
            spdlog::error(
                "PodSession declared twice in one file, ignoring the later one file={} line={} "
                "session={}",
                log::quote(path.string()), entry.line, entry.key);
            continue;
        }
        keys.insert(entry.key);
        // The first file to declare a session owns it while it declares it; a
        // second declaration is reported and waits in case the first goes away.
        const auto owner = sessions_.find(entry.key);
        std::error_code owner_error;
        if (owner != sessions_.end() && owner->second.declared && owner->second.file != path &&
            !owner->second.held && fs::exists(owner->second.file, owner_error)) {
            spdlog::error(
                "PodSession already declared in another file, ignoring this one; rename one of "
                "them file={} "
                "line={} session={} declared_in={}",
                log::quote(path.string()), entry.line, entry.key,
                log::quote(owner->second.file.string()));
            continue;
        }

        std::vector<std::string> errors;
        for (const auto& error : entry.result.errors) {
            errors.push_back(format_file_error(path, entry, error));
        }
        std::optional<crd::pod_session_spec> spec;
        if (entry.result.session) {
            spec = entry.result.session->spec;
        }
        declare(path, entry.result.metadata, std::move(spec), std::move(errors));
    }

    if (known != files_.end()) {
        for (const auto& key : known->second.keys) {
            if (keys.contains(key)) {
                continue;
            }
            if (incomplete) {
                // The session may sit in the broken document: keep it until the
                // file reads again.
                spdlog::warn("session file cannot be read completely, keeping its earlier session file={} session={}",
                             log::quote(path.string()), key);
                keys.insert(key);
                continue;
            }
            undeclare(key, path);
        }
    }
    // Assigned field by field, so that a file read during a scan keeps the mark
    // that the scan found it.
    const auto [slot, inserted] = files_.try_emplace(path);
    if (inserted) {
        files_by_text_.emplace(path.native(), slot);
    }
    auto& record = slot->second;
    record.stamp = stamp;
    record.keys = std::move(keys);
    record.incomplete = incomplete;
}

void directory_store::drop_file(const fs::path& path) {
    const auto found = files_.find(path);
    if (found == files_.end()) {
        return;
    }
    const auto keys = std::move(found->second.keys);
    files_by_text_.erase(found->first.native());
    files_.erase(found);
    spdlog::info("session file removed file={} sessions={}", log::quote(path.string()),
                 keys.size());
    for (const auto& key : keys) {
        undeclare(key, path);
    }
}

std::optional<crd::status_file> directory_store::read_status_file(
    const crd::object_meta& metadata) const {
    const auto path = status_path(metadata);
    std::error_code error;
    if (!fs::exists(path, error)) {
        return std::nullopt;
    }
    const auto text = read_file(path);
    if (!text) {
        spdlog::error("cannot read status file path={} error={}", log::quote(path.string()),
                      log::quote(text.error().message()));
        return std::nullopt;
    }
    auto decoded = crd::decode_status_file(*text);
    if (!decoded) {
        spdlog::error("status file is not valid, ignoring it path={} error={}",
                      log::quote(path.string()),
                      log::quote(crd::describe_status_file_error(decoded.error())));
        return std::nullopt;
    }
    return std::move(*decoded);
}

void directory_store::declare(const fs::path& file, const crd::object_meta& metadata,
                              std::optional<crd::pod_session_spec> spec,
                              std::vector<std::string> errors) {
    const auto key = crd::session_key(metadata);
    auto [found, inserted] = sessions_.try_emplace(key);
    auto& record = found->second;

    if (!inserted && !record.declared) {
        // Deleted and declared again: the old session must release its pod first.
        if (!record.declared_again) {
            spdlog::info(
                "session declared again while its old pod terminates; it starts once that pod is "
                "gone "
                "session={} file={}",
                key, log::quote(file.string()));
        }
        record.declared_again = true;
        record.pending_redeclaration = {metadata, std::move(spec), std::move(errors), std::nullopt,
                                        false};
        record.file = file;
        return;
    }

    if (inserted) {
        record.metadata = metadata;
        if (const auto stored = read_status_file(metadata)) {
            if (metadata.uid.empty() || metadata.uid == stored->metadata.uid) {
                record.metadata.uid = stored->metadata.uid;
                record.status = stored->status;
            } else {
                spdlog::warn(
                    "metadata.uid in the file differs from the status file; the file wins "
                    "session={} "
                    "file={}",
                    key, log::quote(file.string()));
            }
        }
    }

    const std::string uid = !metadata.uid.empty() ? metadata.uid : record.metadata.uid;
    if (!inserted && !record.metadata.uid.empty() && uid != record.metadata.uid) {
        // A new UID is a new session: the status names the old one's pod,
        // which is left to the orphan reaper.
        spdlog::warn(
            "metadata.uid changed; starting a new session, the old pod is reaped as an orphan "
            "session={} old_uid={} uid={} file={}",
            key, record.metadata.uid, uid, log::quote(file.string()));
        record.status.reset();
    }
    record.metadata = metadata;
    if (!metadata.uid.empty() || !uid.empty()) {
        record.uid_minted = metadata.uid.empty() && record.uid_minted;
    } else {
        record.uid_minted = true;
    }
    record.metadata.uid = uid.empty() ? config_.make_uid() : uid;
    record.file = file;
    record.declared = true;
    record.held = false;
    if (spec) {
        record.spec = std::move(spec);
    }
    record.errors = std::move(errors);
    publish(key);
}

void directory_store::undeclare(const std::string& key, const fs::path& file) {
    const auto found = sessions_.find(key);
    if (found == sessions_.end() || found->second.file != file) {
        return;
    }
    // Another file that declares the same session takes it over: re-read it now,
    // as its owner, so the session carries on without a gap.
    for (auto& [path, record] : files_) {
        if (path != file && record.keys.contains(key)) {
            spdlog::info("session now declared by another file session={} file={}", key,
                         log::quote(path.string()));
            found->second.file = path;
            record.stamp = {};
            const auto other = path;
            load_file(other);
            return;
        }
    }
    found->second.declared = false;
    spdlog::info("session deleted session={} file={}", key, log::quote(file.string()));
    publish(key);
}

void directory_store::load_orphaned_status_files() {
    const auto root = config_.directory / status_folder;
    std::error_code error;
    for (fs::recursive_directory_iterator it{root, error}, end; !error && it != end;
         it.increment(error)) {
        if (it->path().extension() != ".yaml" || it.depth() != 1) {
            continue;
        }
        crd::object_meta metadata;
        metadata.namespace_name = it->path().parent_path().filename().string();
        metadata.name = it->path().stem().string();
        if (sessions_.contains(crd::session_key(metadata))) {
            continue;
        }
        const auto stored = read_status_file(metadata);
        if (!stored) {
            continue;
        }
        const auto key = crd::session_key(metadata);
        auto& record = sessions_[key];
        record.metadata = metadata;
        record.metadata.uid = stored->metadata.uid;
        record.status = stored->status;
        const auto unreadable = std::ranges::find_if(files_, [](const auto& file) { return file.second.incomplete; });
        if (unreadable != files_.end() && stored->spec) {
            // The unreadable file may declare this session: keep its pod, expire
            // it on time on the recorded spec, and decide once the file reads.
            record.declared = true;
            record.held = true;
            holds_sessions_ = true;
            record.spec = stored->spec;
            record.errors = {unreadable->first.string() +
                             ": cannot be read, and may declare this session; it keeps its pod, creates none, "
                             "and is deleted if the file reads again without it"};
            spdlog::warn("status file without a readable session file; keeping its pod until every session file "
                         "reads session={} unreadable={}",
                         key, log::quote(unreadable->first.string()));
        } else {
            record.declared = false;
            spdlog::info("status file without a session file; cleaning up its pod session={}", key);
        }
        publish(key);
    }
}

void directory_store::publish(const std::string& key) {
    const auto& record = sessions_.at(key);
    if (sink_ == nullptr) {
        return;
    }
    declared_session session;
    session.metadata = record.metadata;
    session.spec = record.spec;
    session.errors = record.errors;
    session.status = record.status;
    session.deleting = !record.declared;
    session.spec_is_recorded = record.held;
    sink_->upsert(std::move(session));
}

asio::awaitable<boost::system::error_code> directory_store::write_status(
    const crd::object_meta& metadata, const crd::pod_session_status& status) {
    const auto path = status_path(metadata);
    const auto found_record = sessions_.find(crd::session_key(metadata));
    std::error_code exists_error;
    if (found_record != sessions_.end() && !found_record->second.declared &&
        status.pod_id.empty() && !status.create_requested_at &&
        !fs::exists(path, exists_error)) {
        // A deleted session whose status was never written has no pod to
        // record, and release removes the file anyway. Skipping the write lets
        // it be released even where the file cannot be written.
        co_return boost::system::error_code{};
    }
    std::error_code mkdir_error;
    fs::create_directories(path.parent_path(), mkdir_error);
    const crd::pod_session_spec* spec = nullptr;
    if (found_record != sessions_.end() && found_record->second.spec) {
        spec = &*found_record->second.spec;
    }
    const auto error = write_file_atomically(path, crd::encode_status_file(metadata, status, spec), 0644);
    if (error) {
        const auto held = write_failures_.admit(path.string() + " " + error.message(),
                                                std::chrono::steady_clock::now());
        if (held >= 0) {
            spdlog::error("cannot write status file; check that the controller's user may write "
                          "to its folder path={} error={} repeats={}",
                          log::quote(path.string()), log::quote(error.message()), held);
        }
    } else {
        const auto found = sessions_.find(crd::session_key(metadata));
        if (found != sessions_.end() && found->second.metadata.uid == metadata.uid) {
            found->second.status = status;
        }
    }
    co_return error;
}

asio::awaitable<boost::system::result<auth::session_token>> directory_store::ensure_token(
    const crd::object_meta& metadata) {
    const auto path = token_path(metadata);
    std::error_code exists_error;
    if (fs::exists(path, exists_error)) {
        auto text = read_file(path, 1024);
        if (!text) {
            co_return text.error();
        }
        if (!is_token_text(*text)) {
            spdlog::error(
                "token file is not a token; delete it to mint a new one (a running pod keeps the "
                "old "
                "token) path={}",
                log::quote(path.string()));
            co_return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
        }
        co_return auth::session_token{std::move(*text)};
    }

    auto token = config_.make_token();
    if (!token) {
        co_return token.error();
    }
    std::error_code mkdir_error;
    fs::create_directories(path.parent_path(), mkdir_error);
    if (const auto error = write_file_atomically(path, token->reveal(), 0600)) {
        co_return error;
    }
    co_return std::move(*token);
}

asio::awaitable<boost::system::error_code> directory_store::prepare_create(
    const crd::object_meta& /*metadata*/) {
    // The status file written before the create records the UID and the create
    // request; nothing more is needed to keep track of the pod.
    co_return boost::system::error_code{};
}

asio::awaitable<boost::system::error_code> directory_store::release(
    const crd::object_meta& metadata) {
    // A name too long for the file system, or a path through a file that is
    // not a folder, names no file, so there is nothing to remove.
    const auto is_removed = [](const std::error_code& error) {
        return !error || error == std::errc::filename_too_long ||
               error == std::errc::not_a_directory;
    };
    std::error_code error;
    fs::remove(token_path(metadata), error);
    if (!is_removed(error)) {
        co_return boost::system::error_code{error.value(), boost::system::system_category()};
    }
    error.clear();
    fs::remove(status_path(metadata), error);
    if (!is_removed(error)) {
        co_return boost::system::error_code{error.value(), boost::system::system_category()};
    }

    const auto key = crd::session_key(metadata);
    const auto found = sessions_.find(key);
    if (found == sessions_.end() || found->second.metadata.uid != metadata.uid) {
        co_return boost::system::error_code{};
    }
    if (!found->second.declared_again) {
        sessions_.erase(found);
        co_return boost::system::error_code{};
    }

    // The session was declared again meanwhile: it starts over as a new session.
    auto again = std::move(found->second.pending_redeclaration);
    const auto file = found->second.file;
    sessions_.erase(found);
    declare(file, again.metadata, std::move(again.spec), std::move(again.errors));
    co_return boost::system::error_code{};
}

bool directory_store::may_adopt_uid(const crd::object_meta& metadata) const {
    const auto found = sessions_.find(crd::session_key(metadata));
    if (found == sessions_.end() || !found->second.uid_minted || found->second.status ||
        found->second.metadata.uid != metadata.uid) {
        return false;
    }
    std::error_code error;
    return fs::is_regular_file(token_path(metadata), error);
}

bool directory_store::adopt_uid(const crd::object_meta& metadata, const std::string& uid) {
    if (!may_adopt_uid(metadata)) {
        return false;
    }
    auto& record = sessions_.at(crd::session_key(metadata));
    spdlog::warn(
        "status file lost; taking the UID of the session's pod, whose token file is still there "
        "session={} uid={} minted_uid={}",
        crd::session_key(metadata), uid, metadata.uid);
    record.metadata.uid = uid;
    record.uid_minted = false;
    publish(crd::session_key(metadata));
    return true;
}

asio::awaitable<void> directory_store::refresh(const crd::object_meta& metadata) {
    const auto found = sessions_.find(crd::session_key(metadata));
    if (found != sessions_.end() && found->second.declared) {
        // Reads the file only if it changed since it was last read.
        load_file(found->second.file);
    }
    co_return;
}

void directory_store::record_event(const crd::object_meta& /*metadata*/,
                                   const reconcile::note& /*item*/) {
    // Directory mode has no Events; the executor logs every note.
}

void directory_store::describe_token(const crd::object_meta& metadata,
                                     crd::pod_session_status& status) const {
    std::error_code error;
    const auto path = token_path(metadata);
    const auto absolute = std::filesystem::absolute(path, error);
    status.token_file = error ? path.string() : absolute.lexically_normal().string();
}

}  // namespace podsession::controller
