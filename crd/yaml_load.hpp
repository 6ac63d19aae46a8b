#pragma once

#include <cstddef>
#include <string_view>

#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/node/node.h>

// Loading YAML from outside the process with a bound on what its aliases
// expand to.
//
// yaml-cpp makes an alias share the anchored node instead of copying it. A
// file of under a kilobyte whose anchors each alias the one before ten times
// ("billion laughs") therefore loads quickly, but contains about 10^12 nodes
// for any code that walks it: the duplicate-key check, the conversion to
// JSON, the kubeconfig reader. An alias may even name the node that contains
// it, which makes the tree a cycle. Every YAML::Load of outside text goes
// through `load_yaml`, so that such a document is rejected before anything
// walks it.
namespace podsession::crd {

struct yaml_expansion_limits {
    // Maximum nodes of one document once every alias is replaced by a copy of
    // its anchored node. The example PodSessions have 40 to 60 nodes, and a
    // kubeconfig with a hundred contexts has a few thousand (an estimate), so
    // 100,000 leaves room for any real file. Decoding a document of 100,000
    // nodes, or converting it to JSON, took about 10 ms in an unoptimised build.
    std::size_t max_nodes = 100'000;
    // Maximum bytes of scalar text once every alias is expanded, because one
    // long string aliased 100,000 times would still make gigabytes of JSON.
    // 16 MiB is four times the largest file the controller reads (4 MiB).
    std::size_t max_scalar_bytes = 16 * 1024 * 1024;
};

// Error for a document whose aliases expand past a limit, or for an alias of a
// node that contains the alias. `mark` points at the alias or node where the
// limit was crossed, with 0-based line and column as yaml-cpp counts them.
// `msg` names the limit and how to fix the file, without the file's content.
class yaml_expansion_error : public YAML::Exception {
  public:
    yaml_expansion_error(const YAML::Mark& mark, const std::string& message)
        : YAML::Exception{mark, message} {}
};

// Checks the first document of `text`, which is the one YAML::Load builds,
// without building it. The count stops as soon as a limit is crossed, so a
// bomb is rejected after reading at most its own text. Documents without any
// alias are not limited, because walking them costs no more than their size.
// Throws yaml_expansion_error. Text that is not YAML may also throw the
// YAML::ParserException that YAML::Load would. Text without a '*' contains no
// alias and is not parsed at all.
void check_yaml_expansion(std::string_view text, const yaml_expansion_limits& limits = {});

// Loads the first document of `text` with YAML::Load once check_yaml_expansion
// passes.
[[nodiscard]] YAML::Node load_yaml(std::string_view text, const yaml_expansion_limits& limits = {});

}  // namespace podsession::crd
