#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace podsession::test {

using label_set = std::map<std::string, std::string>;

struct sample {
    std::string name;
    label_set labels;
    double value = 0;
};

// A Prometheus text exposition as the tests read it. Parses only what
// prometheus-cpp writes: no timestamps, no escapes inside label values.
struct exposition {
    std::vector<sample> samples;
    // Metric family name to its `# TYPE` and `# HELP` text.
    std::map<std::string, std::string> types;
    std::map<std::string, std::string> helps;

    // Returns the value of the sample with exactly this name and label set.
    [[nodiscard]] std::optional<double> value(std::string_view name,
                                              const label_set& labels = {}) const;

    // Returns every sample with this name.
    [[nodiscard]] std::vector<sample> samples_named(std::string_view name) const;
};

// Parses `text`. A malformed line fails the calling test and is skipped.
[[nodiscard]] exposition parse_exposition(std::string_view text);

}  // namespace podsession::test
