#pragma once

#include <sys/types.h>
#include <filesystem>
#include <string>
#include <string_view>

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace podsession::controller {

// Writes `content` to `path` so that readers see the old file or the new one,
// never a mix: a temporary file in the same directory with the given mode,
// fsync, rename over `path`, fsync of the directory.
[[nodiscard]] boost::system::error_code write_file_atomically(const std::filesystem::path& path,
                                                              std::string_view content,
                                                              mode_t mode);

// The default maximum size of a file for read_file, in bytes.
inline constexpr std::size_t default_max_file_bytes = 4 * 1024 * 1024;

// Reads a whole file, failing on files larger than `max_bytes`, with
// errc::is_a_directory for a directory and errc::invalid_argument for any
// other file that is not a regular file.
[[nodiscard]] boost::system::result<std::string> read_file(
    const std::filesystem::path& path, std::size_t max_bytes = default_max_file_bytes);

// Describes a read_file error for a message, with the limit for a file too large.
[[nodiscard]] std::string describe_read_error(const boost::system::error_code& error,
                                              std::size_t max_bytes = default_max_file_bytes);

}  // namespace podsession::controller
