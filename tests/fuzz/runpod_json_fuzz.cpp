// RunPod REST v2 answers: a pod, a pod list, a problem document.
#include <cstdint>
#include <string_view>

#include "providers/runpod/codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body{reinterpret_cast<const char*>(data), size};
    (void)podsession::providers::runpod::decode_pod(body);
    (void)podsession::providers::runpod::decode_pod_list(body);
    (void)podsession::providers::runpod::decode_problem(body);
    return 0;
}
