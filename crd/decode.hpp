#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "crd/pod_session.hpp"

namespace YAML {
class Node;
}

namespace podsession::crd {

// One violated rule: the field path as Kubernetes writes it
// (`spec.ports[1].port`), the offending value as written, and the rule.
struct field_error {
    std::string path;
    std::string value;
    std::string rule;
    // 1-based line in the source text; 0 when the source has no lines (JSON
    // from the API server).
    int line = 0;

    // `spec.ports[1].port: 70000 is out of range 1..65535`
    [[nodiscard]] std::string to_string() const;
};

enum class unknown_fields { reject, ignore };

struct decode_options {
    // Files in directory mode reject fields the API does not define. Objects from
    // the API server have been pruned to the schema already but carry server-set
    // metadata (managedFields and so on), so that path ignores unknown fields.
    unknown_fields unknown = unknown_fields::reject;
    // Whether `status` is read. Directory-mode files must not carry one; objects
    // from the API server carry the controller's own last write.
    bool read_status = false;
    // Longer names are rejected although Kubernetes allows 253 characters.
    // Directory mode sets this, because the name becomes part of file names.
    std::size_t max_name_length = 253;
};

// A decoded object, or the reasons it is invalid. `session` is set only when
// `errors` is empty. `metadata` is filled as far as it could be read, so that an
// invalid object can still be named in messages.
struct decode_result {
    std::optional<pod_session> session;
    object_meta metadata;
    std::vector<field_error> errors;
    // 1-based line where the document starts, 0 for JSON.
    int line = 0;
};

// Decodes and validates one PodSession document. Every violated rule is
// reported, not only the first.
[[nodiscard]] decode_result decode_pod_session(const YAML::Node& document,
                                               const decode_options& options = {});

// Decodes a PodSession as the Kubernetes API server returns it.
[[nodiscard]] decode_result decode_pod_session(const boost::json::value& object);

// One document of a multi-document YAML file.
struct file_document {
    decode_result result;
    // Set when the document is not valid YAML or not a mapping; `result` then
    // holds that single error.
    bool unparsable = false;
    // Set for documents that are empty or hold only comments; they are skipped.
    bool empty = false;
};

// Splits `text` at `---` lines and decodes every document, so that one malformed
// document does not hide the errors or the sessions of the others.
[[nodiscard]] std::vector<file_document> decode_pod_session_file(
    std::string_view text, const decode_options& options = {});

}  // namespace podsession::crd
