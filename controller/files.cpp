#include "controller/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <fstream>

#include <boost/system/errc.hpp>

namespace podsession::controller {
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

}  // namespace

boost::system::error_code write_file_atomically(const std::filesystem::path& path,
                                                std::string_view content, mode_t mode) {
    const auto directory =
        path.parent_path().empty() ? std::filesystem::path{"."} : path.parent_path();
    std::string temporary = (directory / ("." + path.filename().string() + ".XXXXXX")).string();

    // mkstemp creates the file with mode 0600, so a token is never readable by
    // others, not even for a moment.
    file_descriptor file{::mkstemp(temporary.data())};
    if (file.get() < 0) {
        return last_error();
    }
    const auto fail = [&] {
        const auto error = last_error();
        ::unlink(temporary.c_str());
        return error;
    };
    if (::fchmod(file.get(), mode) != 0) {
        return fail();
    }
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

    file_descriptor parent{::open(directory.c_str(), O_RDONLY | O_DIRECTORY)};
    if (parent.get() >= 0) {
        ::fsync(parent.get());
    }
    return {};
}

boost::system::result<std::string> read_file(const std::filesystem::path& path,
                                             std::size_t max_bytes) {
    // O_NONBLOCK keeps the open of a FIFO from waiting for a writer; anything
    // but a regular file is refused before a read could block.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        return boost::system::error_code{errno, boost::system::system_category()};
    }
    struct ::stat info {};
    if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        ::close(fd);
        // A directory opens for reading too; it gets its own error so that
        // messages do not call it a FIFO.
        return boost::system::errc::make_error_code(S_ISDIR(info.st_mode)
                                                        ? boost::system::errc::is_a_directory
                                                        : boost::system::errc::invalid_argument);
    }
    std::string content;
    char buffer[65536];
    for (;;) {
        const auto count = ::read(fd, buffer, sizeof buffer);
        if (count < 0) {
            if (errno == EINTR) {
                continue;
            }
            const int failure = errno;
            ::close(fd);
            return boost::system::error_code{failure, boost::system::system_category()};
        }
        if (count == 0) {
            break;
        }
        content.append(buffer, static_cast<std::size_t>(count));
        if (content.size() > max_bytes) {
            ::close(fd);
            return boost::system::errc::make_error_code(boost::system::errc::file_too_large);
        }
    }
    ::close(fd);
    return content;
}

std::string describe_read_error(const boost::system::error_code& error, std::size_t max_bytes) {
    if (error == boost::system::errc::file_too_large) {
        return "the file is larger than the limit of " + std::to_string(max_bytes) + " bytes";
    }
    if (error == boost::system::errc::is_a_directory) {
        return "a directory, not a regular file";
    }
    if (error == boost::system::errc::invalid_argument) {
        return "not a regular file (a FIFO, device or socket); session files must be regular files";
    }
    return error.message();
}

}  // namespace podsession::controller
