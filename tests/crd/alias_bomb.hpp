#pragma once

#include <string>

// YAML whose anchors each alias the one before ten times ("billion laughs"),
// shared by the tests of every reader of outside YAML.
namespace podsession::testing {

// Top-level mapping entries `x0: &a0 [x, ...]`, `x1: &a1 [*a0, ...]`, ... up to
// `levels`, one per line. Anchor aN expands to (10^(N+2) - 1) / 9 nodes, so a3
// expands to 11,111 and a4 to 111,111, past the default limit of 100,000. At 11
// levels the last anchor expands to about 10^12 nodes from under a kilobyte of text.
inline std::string alias_bomb_entries(int levels = 11) {
    std::string text = "x0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int level = 1; level <= levels; ++level) {
        const std::string alias = "*a" + std::to_string(level - 1);
        text += "x" + std::to_string(level) + ": &a" + std::to_string(level) + " [";
        for (int i = 0; i < 10; ++i) {
            text += i == 0 ? alias : ", " + alias;
        }
        text += "]\n";
    }
    return text;
}

// A PodSession file around the entries, as a user could drop it into the
// sessions directory. The entries start at line 4; x4 on line 8 crosses the
// default limit.
inline std::string alias_bomb_session(int levels = 11) {
    return "apiVersion: podsession.io/v1alpha1\nkind: PodSession\nmetadata: {name: b1}\n" +
           alias_bomb_entries(levels) +
           "spec: {image: \"x:1\", gpu: {types: [h100], count: 1}, ports: [{port: 8000, "
           "protocol: http}], auth: bearer}\n";
}

}  // namespace podsession::testing
