#include "controller/cli/table.hpp"

#include <algorithm>
#include <cstddef>

#include "controller/log.hpp"

namespace podsession::controller::cli {

void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& given_rows) {
    constexpr std::size_t gap = 3;
    // Cells come from files that anyone may name or write. Escaping them keeps
    // a newline or an ESC sequence from breaking the table or acting on the terminal.
    std::vector<std::vector<std::string>> rows;
    rows.reserve(given_rows.size());
    for (const auto& row : given_rows) {
        auto& escaped = rows.emplace_back();
        escaped.reserve(row.size());
        for (const auto& cell : row) {
            escaped.push_back(log::escape_controls(cell));
        }
    }
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
