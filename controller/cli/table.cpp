#include "controller/cli/table.hpp"

#include <algorithm>
#include <cstddef>

namespace podsession::controller::cli {

void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
    constexpr std::size_t gap = 3;
    std::vector<std::size_t> widths;
    for (const auto& row : rows) {
        widths.resize(std::max(widths.size(), row.size()));
        for (std::size_t column = 0; column < row.size(); ++column) {
            widths[column] = std::max(widths[column], row[column].size());
        }
    }
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t column = 0; column < row.size(); ++column) {
            line += row[column];
            if (column + 1 < row.size()) {
                line.append(widths[column] - row[column].size() + gap, ' ');
            }
        }
        out << line << '\n';
    }
}

}  // namespace podsession::controller::cli
