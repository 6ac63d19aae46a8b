#include "controller/cli/table.hpp"

#include <sstream>

#include <gtest/gtest.h>

namespace podsession::controller::cli {
namespace {

TEST(table, pads_columns_to_widest_cell) {
    std::ostringstream out;
    print_table(out, {{"NAME", "PHASE", "URL"},
                      {"chat-user-42", "Running", "https://a-8000.proxy.runpod.net"},
                      {"x", "Pending", "<none>"}});
    EXPECT_EQ(out.str(),
              "NAME           PHASE     URL\n"
              "chat-user-42   Running   https://a-8000.proxy.runpod.net\n"
              "x              Pending   <none>\n");
}

TEST(table, header_only) {
    std::ostringstream out;
    print_table(out, {{"NAME", "PHASE"}});
    EXPECT_EQ(out.str(), "NAME   PHASE\n");
}

TEST(table, escapes_control_characters_in_cells) {
    // A cell read from a file must not start a line or send an escape
    // sequence to the terminal.
    std::ostringstream out;
    print_table(out, {{"NAME", "URL"}, {"a\nb", "\x1b[2Jx"}});
    EXPECT_EQ(out.str(),
              "NAME   URL\n"
              "a\\nb   \\x1b[2Jx\n");
}

}  // namespace
}  // namespace podsession::controller::cli
