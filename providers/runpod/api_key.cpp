#include "providers/runpod/api_key.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <stdexcept>
#include <utility>

#include <spdlog/spdlog.h>

namespace podsession::providers::runpod {

namespace {

// A key file is one short line; anything longer is not a key file.
constexpr std::size_t max_key_file_size = 4096;

std::string trim(std::string text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) {
        return {};
    }
    const auto last = text.find_last_not_of(" \t\r\n");
    return text.substr(first, last - first + 1);
}

}  // namespace

std::optional<std::string> read_api_key_file(const std::filesystem::path& file) {
    std::ifstream stream{file, std::ios::binary};
    if (!stream) {
        return std::nullopt;
    }
    std::string line;
    std::getline(stream, line);
    if (line.size() > max_key_file_size) {
        return std::nullopt;
    }
    line = trim(std::move(line));
    if (line.empty()) {
        return std::nullopt;
    }
    return line;
}

namespace {

// Describes why read_api_key_file found no key, for messages.
std::string key_file_problem(const std::filesystem::path& file) {
    std::error_code error;
    if (!std::filesystem::exists(file, error)) {
        return error ? "cannot be checked: " + error.message()
                     : "is missing; create it with the key on its first line";
    }
    std::ifstream stream{file, std::ios::binary};
    if (!stream) {
        return "cannot be read; check its permissions";
    }
    std::string line;
    std::getline(stream, line);
    if (line.size() > max_key_file_size) {
        return "has a first line longer than " + std::to_string(max_key_file_size) +
               " bytes, so it is not a key file";
    }
    return "is empty; write the key on its first line";
}

}  // namespace

api_key_source::api_key_source(std::string key) {
    if (key.empty()) {
        throw std::invalid_argument{"the RunPod API key is empty"};
    }
    adopt(std::move(key));
}

api_key_source::api_key_source(std::filesystem::path file) : file_{std::move(file)} {
    stamp_ = stamp_of(*file_);
    auto key = read_api_key_file(*file_);
    if (!key) {
        throw std::runtime_error{"cannot read a RunPod API key: the file \"" + file_->string() +
                                 "\" " + key_file_problem(*file_)};
    }
    adopt(std::move(*key));
}

std::optional<api_key_source::file_stamp> api_key_source::stamp_of(
    const std::filesystem::path& file) {
    struct stat info {};
    if (::stat(file.c_str(), &info) != 0) {
        return std::nullopt;
    }
    file_stamp stamp;
    std::error_code error;
    stamp.modified = std::filesystem::last_write_time(file, error);
    stamp.size = static_cast<std::uintmax_t>(info.st_size);
    stamp.inode = static_cast<std::uint64_t>(info.st_ino);
    return stamp;
}

void api_key_source::adopt(std::string key) {
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
        known_.push_back(key);
    }
    key_ = std::move(key);
}

const std::string& api_key_source::current() {
    if (!file_) {
        return key_;
    }
    const auto stamp = stamp_of(*file_);
    if (stamp == stamp_) {
        return key_;
    }
    stamp_ = stamp;

    auto key = read_api_key_file(*file_);
    if (!key) {
        spdlog::warn(
            "cannot read the RunPod API key file; keeping the previous key until it holds one "
            "file={} problem=\"{}\"",
            file_->string(), key_file_problem(*file_));
        return key_;
    }
    if (*key != key_) {
        spdlog::info("RunPod API key file changed; sending the new key from now on file={}",
                     file_->string());
        adopt(std::move(*key));
    }
    return key_;
}

}  // namespace podsession::providers::runpod
