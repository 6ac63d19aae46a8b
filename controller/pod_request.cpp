#include "controller/pod_request.hpp"

namespace podsession::controller {

providers::create_pod_request make_create_request(const crd::pod_session& session,
                                                  std::string_view pod_name,
                                                  std::string_view gpu_type,
                                                  const auth::session_token& token) {
    const auto& spec = session.spec;
    providers::create_pod_request request;
    request.name = pod_name;
    request.image = spec.image;
    request.gpu_type_id = gpu_type;
    request.gpu_count = spec.gpu.count;
    request.cloud = spec.cloud;
    request.data_center_ids = spec.data_center_ids;
    for (const auto& port : spec.ports) {
        request.ports.push_back(std::to_string(port.port) + "/" +
                                std::string{crd::to_string(port.protocol)});
    }
    for (const auto& variable : spec.env) {
        request.env.emplace_back(variable.name, variable.value);
    }
    request.env.emplace_back("PODSESSION_NAMESPACE", session.metadata.namespace_name);
    request.env.emplace_back("PODSESSION_NAME", session.metadata.name);
    request.env.emplace_back("PODSESSION_UID", session.metadata.uid);
    if (const auto name = auth::token_env_name(spec.auth)) {
        request.env.emplace_back(*name, token.reveal());
    }
    request.container_disk_gb = spec.container_disk_gb;
    request.volume_gb = spec.volume_gb;
    request.min_cuda_version = spec.min_cuda_version;
    return request;
}

}  // namespace podsession::controller
