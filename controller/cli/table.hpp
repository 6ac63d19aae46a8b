#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace podsession::controller::cli {

// Prints rows in the manner of `kubectl get`: each column as wide as its
// widest cell, columns three spaces apart, no trailing spaces. The first row
// is the header. Control characters in cells are printed escaped, as \n or
// \x1b (see log::escape_controls).
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows);

}  // namespace podsession::controller::cli
