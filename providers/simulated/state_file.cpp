#include "providers/simulated/state_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include <spdlog/spdlog.h>
#include <boost/system/result.hpp>

namespace podsession::providers::simulated {

namespace fs = std::filesystem;

namespace {

boost::system::error_code last_error() {
    return {errno, boost::system::system_category()};
}

// Closes a descriptor on every path out of a function.
class file_descriptor {
  public:
    explicit file_descriptor(int fd) : fd_{fd} {}
    file_descriptor(const file_descriptor&) = delete;
    file_descriptor& operator=(const file_descriptor&) = delete;
    ~file_descriptor() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }

    [[nodiscard]] int get() const { return fd_; }

    [[nodiscard]] bool close() {
        const int fd = fd_;
        fd_ = -1;
        return ::close(fd) == 0;
    }

  private:
    int fd_;
};

// NOTE: the same steps as controller/files.cpp's write_file_atomically; the
// layout lets providers/ depend on crd/ and the HTTP layer only, so it cannot
// call that one.
// Replaces `path` with `content` so that readers see the old file or the new
// one, never a mix: a temporary file in the same folder, fsync, rename, fsync
// of the folder. mkstemp creates the temporary file with mode 0600, so the
// env values in it are never readable by others, not even for a moment.
boost::system::error_code write_private_file(const fs::path& path, std::string_view content) {
    const auto folder = path.parent_path().empty() ? fs::path{"."} : path.parent_path();
    std::string temporary = (folder / ("." + path.filename().string() + ".XXXXXX")).string();

    file_descriptor file{::mkstemp(temporary.data())};
    if (file.get() < 0) {
        return last_error();
    }
    const auto fail = [&] {
        const auto error = last_error();
        ::unlink(temporary.c_str());
        return error;
    };
    std::size_t written = 0;
    while (written < content.size()) {
        const auto count = ::write(file.get(), content.data() + written, content.size() - written);
        if (count < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail();
        }
        written += static_cast<std::size_t>(count);
    }
    if (::fsync(file.get()) != 0 || !file.close()) {
        return fail();
    }
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
        return fail();
    }

    file_descriptor parent{::open(folder.c_str(), O_RDONLY | O_DIRECTORY)};
    if (parent.get() >= 0) {
        ::fsync(parent.get());
    }
    return {};
}

// Reads a whole file, or returns the error that stopped the read.
boost::system::result<std::string> read_whole_file(const fs::path& path) {
    std::ifstream stream{path, std::ios::binary};
    if (!stream) {
        return boost::system::error_code{errno != 0 ? errno : EIO,
                                         boost::system::system_category()};
    }
    std::string content{std::istreambuf_iterator<char>{stream}, std::istreambuf_iterator<char>{}};
    if (stream.bad()) {
        return boost::system::error_code{EIO, boost::system::system_category()};
    }
    return content;
}

}  // namespace

state_file::state_file(boost::asio::any_io_executor executor, pod_store& store, fs::path path,
                       std::chrono::milliseconds save_interval)
    : store_{store},
      path_{std::move(path)},
      save_interval_{save_interval},
      timer_{std::move(executor)},
      alive_{std::make_shared<state_file*>(this)} {
    const auto named = "the simulator state file \"" + path_.string() + "\"";
    std::error_code exists_error;
    const bool exists = fs::exists(path_, exists_error);
    if (exists_error) {
        throw std::runtime_error{"cannot read " + named + ": " + exists_error.message() +
                                 "; check the permissions of its folder"};
    }
    if (exists && !fs::is_regular_file(path_, exists_error)) {
        throw std::runtime_error{named + " is not a regular file; remove it or name another file"};
    }
    if (exists) {
        const auto text = read_whole_file(path_);
        if (!text) {
            throw std::runtime_error{"cannot read " + named + ": " + text.error().message() +
                                     "; make it readable, or delete it to start the simulator "
                                     "with no pods"};
        }
        const auto loaded = store_.load_state(*text);
        if (!loaded) {
            throw std::runtime_error{named + " is invalid: " + loaded.error() +
                                     "; delete it to start the simulator with no pods"};
        }
        spdlog::info("simulated pods loaded file={} pods={}", path_.string(),
                     store_.live_pod_count());
    }

    if (const auto error = save()) {
        throw std::runtime_error{"cannot write " + named + ": " + error.message() +
                                 "; check that its folder exists and is writable"};
    }
    store_.set_change_listener([this] { on_change(); });
}

state_file::~state_file() {
    store_.set_change_listener({});
    // A handler that is already queued finds the token expired and returns.
    alive_.reset();
    timer_.cancel();
}

boost::system::error_code state_file::flush() {
    ++generation_;
    timer_.cancel();
    timer_armed_ = false;
    if (!pending_) {
        return {};
    }
    return save();
}

void state_file::on_change() {
    pending_ = true;
    schedule_save();
}

void state_file::schedule_save() {
    if (timer_armed_) {
        return;
    }
    timer_armed_ = true;
    const auto generation = ++generation_;
    timer_.expires_at(std::max(last_save_ + save_interval_, std::chrono::steady_clock::now()));
    timer_.async_wait([alive = std::weak_ptr<state_file*>{alive_},
                       generation](const boost::system::error_code& error) {
        const auto self = alive.lock();
        if (error || !self) {
            return;
        }
        (*self)->on_timer(generation);
    });
}

void state_file::on_timer(std::uint64_t generation) {
    // A flush since this wait was armed has saved or rearmed already.
    if (generation != generation_) {
        return;
    }
    timer_armed_ = false;
    if (!pending_) {
        return;
    }
    if (const auto error = save()) {
        // Logged once per run of failures; the timer retries while changes are pending.
        if (++failures_in_row_ == 1) {
            spdlog::error(
                "cannot save the simulated pods; retrying every interval "
                "file={} error={}",
                path_.string(), error.message());
        }
        schedule_save();
        return;
    }
    if (failures_in_row_ > 0) {
        spdlog::info("simulated pods saved again file={} failed_writes={}", path_.string(),
                     failures_in_row_);
        failures_in_row_ = 0;
    }
}

boost::system::error_code state_file::save() {
    const auto error = write_private_file(path_, store_.save_state());
    last_save_ = std::chrono::steady_clock::now();
    if (error) {
        return error;
    }
    pending_ = false;
    ++save_count_;
    spdlog::debug("simulated pods saved file={} pods={}", path_.string(), store_.live_pod_count());
    return {};
}

}  // namespace podsession::providers::simulated
