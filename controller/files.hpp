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

// Reads a whole file, failing on files larger than `max_bytes`.
[[nodiscard]] boost::system::result<std::string> read_file(const std::filesystem::path& path,
                                                           std::size_t max_bytes = 4 * 1024 * 1024);

}  // namespace podsession::controller
