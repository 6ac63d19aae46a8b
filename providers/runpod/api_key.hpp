#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace podsession::providers::runpod {

// The RunPod API key: a fixed value (from `RUNPOD_API_KEY`), or the first
// line of a file that is read again whenever it changes, so that rotating
// the key needs no restart. Never logs or returns the key in a message.
class api_key_source {
  public:
    // Throws `std::invalid_argument` for an empty key.
    explicit api_key_source(std::string key);

    // Reads `file` now. Throws `std::runtime_error` naming the file when it
    // cannot be read or contains no key.
    explicit api_key_source(std::filesystem::path file);

    // Returns the key to send now. With a file, checks its modification time,
    // size and inode first and reads it again when one changed. A file that
    // became unreadable or empty keeps the last key, with one warning per
    // change of the file.
    [[nodiscard]] const std::string& current();

    // Every key used so far, for redaction from messages.
    [[nodiscard]] const std::vector<std::string>& known_keys() const noexcept { return known_; }

  private:
    struct file_stamp {
        std::filesystem::file_time_type modified{};
        std::uintmax_t size = 0;
        std::uint64_t inode = 0;
        bool operator==(const file_stamp&) const = default;
    };

    [[nodiscard]] static std::optional<file_stamp> stamp_of(const std::filesystem::path& file);
    void adopt(std::string key);

    std::optional<std::filesystem::path> file_;
    std::optional<file_stamp> stamp_;
    std::string key_;
    std::vector<std::string> known_;
};

// Reads a key file: its first line without the line ending and surrounding
// blanks. Returns nothing when the file cannot be read or the line is empty.
[[nodiscard]] std::optional<std::string> read_api_key_file(const std::filesystem::path& file);

}  // namespace podsession::providers::runpod
