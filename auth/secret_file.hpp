#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <boost/assert/source_location.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include "auth/token.hpp"

namespace podsession::auth {

// Commands read secrets from a file or an environment variable, never from an
// argument, which `ps` and shell history show to every user of the machine.

// Secrets are tokens of a few dozen bytes, so a larger file is the wrong file.
inline constexpr std::size_t max_secret_file_bytes = 64 * 1024;

// A failure to read a secret. `message` is for a person. It names the file or
// variable and the fix, and never contains the secret.
struct secret_error {
    boost::system::error_code code;
    std::string message;
};

// Called by `secret_result<T>::value()` on an error.
[[noreturn]] void throw_exception_from_error(const secret_error& error,
                                             const boost::source_location& location);

template <class T>
using secret_result = boost::system::result<T, secret_error>;

// Reads the whole file less one trailing "\n", which editors and `echo` add.
// Other whitespace is part of the secret. Fails when the file cannot be read,
// is empty or is larger than max_secret_file_bytes.
[[nodiscard]] secret_result<session_token> read_secret_file(const std::filesystem::path& path);

// Reads the value of environment variable `name`. Fails when it is unset or empty.
[[nodiscard]] secret_result<session_token> read_secret_env(const std::string& name);

// The source a command reads its secret from. Exactly one member must be set.
struct secret_location {
    std::optional<std::filesystem::path> file;
    std::optional<std::string> env_var;
};

// Reads the secret from `location`. Fails with a message naming both options
// when neither or both are set.
[[nodiscard]] secret_result<session_token> read_secret(const secret_location& location);

// A warning for a secret file that users other than its owner may read, or
// nothing when the permissions are tight or cannot be read.
[[nodiscard]] std::optional<std::string> secret_file_warning(const std::filesystem::path& path);

}  // namespace podsession::auth
