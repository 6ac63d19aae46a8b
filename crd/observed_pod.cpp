#include "crd/observed_pod.hpp"

namespace podsession::crd {

std::string_view to_string(pod_status value) {
    switch (value) {
        case pod_status::provisioning:
            return "PROVISIONING";
        case pod_status::starting:
            return "STARTING";
        case pod_status::running:
            return "RUNNING";
        case pod_status::exited:
            return "EXITED";
        case pod_status::error:
            return "ERROR";
        case pod_status::terminated:
            return "TERMINATED";
        case pod_status::unknown:
            return "UNKNOWN";
    }
    return "UNKNOWN";
}

pod_status parse_pod_status(std::string_view text) {
    for (const auto status : {pod_status::provisioning, pod_status::starting, pod_status::running,
                              pod_status::exited, pod_status::error, pod_status::terminated}) {
        if (to_string(status) == text) {
            return status;
        }
    }
    return pod_status::unknown;
}

}  // namespace podsession::crd
