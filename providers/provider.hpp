#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "crd/observed_pod.hpp"
#include "crd/pod_session.hpp"
#include "providers/error.hpp"

namespace podsession::providers {

// What the controller asks a provider to create: one pod of one GPU type.
// Fallback across GPU types is the caller's job.
struct create_pod_request {
    std::string name;
    std::string image;
    std::string gpu_type_id;
    int gpu_count = 1;
    crd::cloud_type cloud = crd::cloud_type::secure;
    std::vector<std::string> data_center_ids;
    // `port/protocol`, for example `8000/http`.
    std::vector<std::string> ports;
    // Contains the session's token. Never log or print these values.
    std::vector<std::pair<std::string, std::string>> env;
    int container_disk_gb = 50;
    // 0 means no persistent volume.
    int volume_gb = 0;
    // `major.minor`, empty for any.
    std::string min_cuda_version;
};

// A GPU cloud that runs pods. Implementations are asynchronous, run on the
// caller's executor, and classify every failure as a `providers::errc`.
class provider {
public:
    virtual ~provider() = default;

    // Creates a pod. A failure that may have created it anyway is
    // `errc::unknown_outcome`.
    [[nodiscard]] virtual boost::asio::awaitable<result<crd::observed_pod>> create_pod(
        const create_pod_request& request) = 0;

    // Lists every pod of the account. A failure must never be read as "no pods".
    [[nodiscard]] virtual boost::asio::awaitable<result<std::vector<crd::observed_pod>>>
    list_pods() = 0;

    [[nodiscard]] virtual boost::asio::awaitable<result<crd::observed_pod>> get_pod(
        std::string_view pod_id) = 0;

    // Asks the provider to terminate a pod; `errc::not_found` is success for the
    // caller's purpose. Success only means the request was accepted: the caller
    // confirms with `get_pod` (not found or TERMINATED) before it treats the pod
    // as gone.
    [[nodiscard]] virtual boost::asio::awaitable<result<void>> terminate_pod(
        std::string_view pod_id) = 0;

    // Whether listed and fetched pods carry their env, so that adoption can check
    // `PODSESSION_UID`.
    [[nodiscard]] virtual bool lists_env() const noexcept = 0;
};

}  // namespace podsession::providers
