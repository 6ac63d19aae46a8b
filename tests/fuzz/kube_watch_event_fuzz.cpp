// One line of a Kubernetes watch stream of PodSessions, as the API server
// sends it, decoded into the session the controller would act on.
#include <cstdint>
#include <string_view>

#include "controller/kubernetes/objects.hpp"
#include "controller/kubernetes/watch_event.hpp"
#include "crd/pod_session.hpp"

namespace kubernetes = podsession::controller::kubernetes;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto event =
        kubernetes::decode_watch_event({reinterpret_cast<const char*>(data), size});
    if (!event) {
        return 0;
    }
    if (event->type == kubernetes::watch_event_type::bookmark ||
        event->type == kubernetes::watch_event_type::error) {
        return 0;
    }
    const auto session = kubernetes::to_declared_session(event->object);
    // A session with a valid spec carries no errors, and one without a spec
    // says why.
    if (session.spec.has_value() == !session.errors.empty()) {
        __builtin_trap();
    }
    (void)podsession::crd::session_key(session.metadata);
    return 0;
}
