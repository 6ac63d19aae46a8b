#include "auth/secret_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>

#include <openssl/crypto.h>
#include <boost/system/errc.hpp>
#include <boost/throw_exception.hpp>

#include "auth/error.hpp"

namespace podsession::auth {

namespace {

// Closes a file descriptor when it goes out of scope.
class file_descriptor {
  public:
    explicit file_descriptor(int fd) noexcept : fd_(fd) {}
    file_descriptor(const file_descriptor&) = delete;
    file_descriptor& operator=(const file_descriptor&) = delete;
    ~file_descriptor() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }

    [[nodiscard]] int get() const noexcept { return fd_; }

  private:
    int fd_;
};

[[nodiscard]] std::string quoted(const std::filesystem::path& path) {
    return '"' + path.string() + '"';
}

[[nodiscard]] secret_error file_error(boost::system::error_code code,
                                      const std::filesystem::path& path) {
    return {code, "cannot read secret file " + quoted(path) + ": " + code.message() +
                      ". Write the secret to that file (mode 0600), or pass --secret-env VAR "
                      "to read it from an environment variable"};
}

[[nodiscard]] boost::system::error_code last_system_error() {
    return {errno, boost::system::system_category()};
}

}  // namespace

void throw_exception_from_error(const secret_error& error, const boost::source_location& location) {
    boost::throw_exception(boost::system::system_error(error.code, error.message), location);
}

secret_result<session_token> read_secret_file(const std::filesystem::path& path) {
    const file_descriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (file.get() < 0) {
        return file_error(last_system_error(), path);
    }
    struct stat status {};
    if (::fstat(file.get(), &status) != 0) {
        return file_error(last_system_error(), path);
    }
    if (S_ISDIR(status.st_mode)) {
        return file_error({EISDIR, boost::system::system_category()}, path);
    }

    // Read one byte past the limit to tell a full-sized file from a larger one.
    // Pipes and process substitution (`--secret-file <(...)`) report no size,
    // so the loop reads until end of file.
    std::string content(max_secret_file_bytes + 1, '\0');
    std::size_t size = 0;
    while (size < content.size()) {
        const auto count = ::read(file.get(), content.data() + size, content.size() - size);
        if (count < 0 && errno == EINTR) {
            continue;
        }
        if (count < 0) {
            OPENSSL_cleanse(content.data(), content.size());
            return file_error(last_system_error(), path);
        }
        if (count == 0) {
            break;
        }
        size += static_cast<std::size_t>(count);
    }
    if (size > max_secret_file_bytes) {
        OPENSSL_cleanse(content.data(), content.size());
        return secret_error{make_error_code(errc::secret_too_large),
                            "secret file " + quoted(path) + " is larger than " +
                                std::to_string(max_secret_file_bytes) +
                                " bytes, so it is not a secret file; check the path"};
    }

    if (size > 0 && content[size - 1] == '\n') {
        --size;
    }
    if (size == 0) {
        return secret_error{
            make_error_code(errc::empty_secret),
            "secret file " + quoted(path) + " is empty; write the session's secret into it"};
    }
    // Overwrite the unused tail, then shrink without reallocating.
    OPENSSL_cleanse(content.data() + size, content.size() - size);
    content.resize(size);
    return session_token{std::move(content)};
}

secret_result<session_token> read_secret_env(const std::string& name) {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) {
        return secret_error{make_error_code(errc::secret_env_unset),
                            "environment variable " + name +
                                " is not set; export it with the secret, or pass "
                                "--secret-file FILE to read the secret from a file"};
    }
    if (*value == '\0') {
        return secret_error{
            make_error_code(errc::empty_secret),
            "environment variable " + name + " is empty; set it to the session's secret"};
    }
    return session_token{std::string{value}};
}

secret_result<session_token> read_secret(const secret_location& location) {
    if (location.file && location.env_var) {
        return secret_error{make_error_code(boost::system::errc::invalid_argument),
                            "--secret-file and --secret-env are both given; pass only one"};
    }
    if (location.file) {
        return read_secret_file(*location.file);
    }
    if (location.env_var) {
        return read_secret_env(*location.env_var);
    }
    return secret_error{make_error_code(boost::system::errc::invalid_argument),
                        "missing secret: pass --secret-file FILE with a file that contains the "
                        "signing secret, or --secret-env VAR with an environment variable "
                        "that holds it"};
}

std::optional<std::string> secret_file_warning(const std::filesystem::path& path) {
    std::error_code error;
    const auto permissions = std::filesystem::status(path, error).permissions();
    if (error) {
        return std::nullopt;
    }
    using std::filesystem::perms;
    if ((permissions & (perms::group_read | perms::others_read)) == perms::none) {
        return std::nullopt;
    }
    return "secret file " + quoted(path) +
           " is readable by other users; restrict it with `chmod 600 " + path.string() + "`";
}

}  // namespace podsession::auth
