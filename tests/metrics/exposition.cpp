#include "tests/metrics/exposition.hpp"

#include <cstdlib>
#include <sstream>

#include <gtest/gtest.h>

namespace podsession::test {
namespace {

// Parses `{a="x",b="y"}` at the start of `text` and moves `text` past the
// closing brace.
std::optional<label_set> parse_labels(std::string_view& text) {
    label_set labels;
    text.remove_prefix(1);
    while (!text.empty() && text.front() != '}') {
        const auto equals = text.find("=\"");
        if (equals == std::string_view::npos) {
            return std::nullopt;
        }
        const auto close = text.find('"', equals + 2);
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        labels.emplace(std::string{text.substr(0, equals)},
                       std::string{text.substr(equals + 2, close - equals - 2)});
        text.remove_prefix(close + 1);
        if (!text.empty() && text.front() == ',') {
            text.remove_prefix(1);
        }
    }
    if (text.empty()) {
        return std::nullopt;
    }
    text.remove_prefix(1);
    return labels;
}

void parse_comment(std::string_view line, exposition& result) {
    std::istringstream words{std::string{line}};
    std::string hash, keyword, name;
    words >> hash >> keyword >> name;
    std::string rest;
    std::getline(words, rest);
    if (!rest.empty() && rest.front() == ' ') {
        rest.erase(0, 1);
    }
    if (keyword == "TYPE") {
        result.types[name] = rest;
    } else if (keyword == "HELP") {
        result.helps[name] = rest;
    }
}

}  // namespace

std::optional<double> exposition::value(std::string_view name, const label_set& labels) const {
    for (const auto& candidate : samples) {
        if (candidate.name == name && candidate.labels == labels) {
            return candidate.value;
        }
    }
    return std::nullopt;
}

std::vector<sample> exposition::samples_named(std::string_view name) const {
    std::vector<sample> found;
    for (const auto& candidate : samples) {
        if (candidate.name == name) {
            found.push_back(candidate);
        }
    }
    return found;
}

exposition parse_exposition(std::string_view text) {
    exposition result;
    while (!text.empty()) {
        const auto end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        if (line.empty()) {
            continue;
        }
        if (line.front() == '#') {
            parse_comment(line, result);
            continue;
        }

        sample parsed;
        const auto name_end = line.find_first_of("{ ");
        parsed.name = std::string{line.substr(0, name_end)};
        line.remove_prefix(name_end == std::string_view::npos ? line.size() : name_end);
        if (!line.empty() && line.front() == '{') {
            auto labels = parse_labels(line);
            if (!labels) {
                ADD_FAILURE() << "malformed labels in sample of " << parsed.name;
                continue;
            }
            parsed.labels = std::move(*labels);
        }
        const std::string value{line};
        char* value_end = nullptr;
        parsed.value = std::strtod(value.c_str(), &value_end);
        if (value_end == value.c_str()) {
            ADD_FAILURE() << "missing value in sample of " << parsed.name;
            continue;
        }
        result.samples.push_back(std::move(parsed));
    }
    return result;
}

}  // namespace podsession::test
