#pragma once

#include <string>
#include <string_view>

#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

#include "crd/pod_session.hpp"

namespace podsession::crd {

// Encodes a status as the `status` object of the PodSession API (camelCase keys,
// RFC 3339 times, cost as a decimal string). Unset fields are omitted.
[[nodiscard]] boost::json::value encode_status(const pod_session_status& status);

// Decodes a `status` object written by `encode_status`. Unknown keys are ignored
// and a malformed field leaves its default, because status is the controller's
// own record and a partial read is better than none.
[[nodiscard]] pod_session_status decode_status(const boost::json::value& status);

// Formats USD as a decimal string with at least two and at most four decimals
// (`2.99`, `0.875`). Boost.JSON would print doubles in exponent form.
[[nodiscard]] std::string format_usd(double amount);

// Encodes a spec as the PodSession API spells it, GPU types as RunPod ids.
// Without `with_env` the env is left out, because its values may be secrets.
[[nodiscard]] boost::json::value encode_spec(const pod_session_spec& spec, bool with_env);

// The directory-mode status file: a PodSession document with `metadata` (name,
// namespace, uid), the spec the controller last applied without its env (so a
// session whose file cannot be read can still be expired on time), and
// `status`, as YAML.
[[nodiscard]] std::string encode_status_file(const object_meta& metadata,
                                             const pod_session_status& status,
                                             const pod_session_spec* spec = nullptr);

struct status_file {
    object_meta metadata;
    pod_session_status status;
    // The spec the file records, when it has a valid one. It has no env.
    std::optional<pod_session_spec> spec;
};

// Reads a file written by `encode_status_file`. Fails with
// `errc::value_too_large` when its aliases expand past the limits of
// `load_yaml` (crd/yaml_load.hpp), and with `errc::invalid_argument` when the
// text is not YAML or lacks `metadata.uid`.
[[nodiscard]] boost::system::result<status_file> decode_status_file(std::string_view text);

// Describes why decode_status_file failed, for messages that name the file
// before it.
[[nodiscard]] std::string describe_status_file_error(const boost::system::error_code& error);

}  // namespace podsession::crd
