#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/result.hpp>

#include "crd/observed_pod.hpp"
#include "providers/provider.hpp"

// JSON shapes of RunPod's REST v2 pod API: bytes in, typed values out, no I/O.
namespace podsession::providers::runpod {

// Encodes a `CreatePodRequest` body with only the keys that the API defines,
// because it rejects any other key with 422.
[[nodiscard]] std::string encode_create_request(const create_pod_request& request);

// A decoding failure. `message` names the field, never its value.
struct decode_error {
    std::string message;
};

template <class T>
using decode_result = boost::system::result<T, decode_error>;

// Decodes a `Pod`. Unknown fields are ignored, because the API is beta and
// adds fields. Of the env, only `PODSESSION_UID` is kept.
[[nodiscard]] decode_result<crd::observed_pod> decode_pod(std::string_view body);

// Decodes a `ListPodsResponse`. One pod that does not decode fails the whole
// list, so that a caller never mistakes a partial list for the account's pods.
[[nodiscard]] decode_result<std::vector<crd::observed_pod>> decode_pod_list(std::string_view body);

// An `ErrorResponse` (`application/problem+json`).
struct problem {
    std::string title;
    std::string detail;
    std::vector<std::string> errors;
};

// Decodes a problem document; returns nothing for a body of another shape.
[[nodiscard]] std::optional<problem> decode_problem(std::string_view body);

}  // namespace podsession::providers::runpod
