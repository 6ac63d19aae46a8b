#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "auth/token.hpp"
#include "net/client.hpp"

namespace podsession::controller::kubernetes {

// How to reach and authenticate to a Kubernetes API server, from a kubeconfig
// or from the service account of the pod the controller runs in.
struct connection_config {
    // `https://host:port`, maybe with a path prefix.
    std::string server;
    net::tls_options tls;
    // A bearer token given inline. A `token_file` takes precedence once read.
    std::optional<auth::session_token> token;
    // A file holding the bearer token, re-read periodically because projected
    // service account tokens are rotated.
    std::filesystem::path token_file;
    // The context's namespace (or the service account's), `default` if unset.
    std::string namespace_name = "default";
    // Where the credentials come from, for error messages:
    // `kubeconfig /home/me/.kube/config (context "prod", user "ci")` or
    // `in-cluster service account (/var/run/secrets/kubernetes.io/serviceaccount)`.
    std::string source;
};

// A kubeconfig or in-cluster setup that cannot be used. The message is
// complete: it names the file, the entry and what to change.
class config_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Reads the kubeconfig at `path` and resolves `context` (the current context
// when empty). Supported: token, tokenFile, client certificate and key as
// files or base64 data, certificate authority as file or data, and
// insecure-skip-tls-verify. Rejected with a config_error that names the user
// entry: exec and auth-provider plugins, username/password, impersonation,
// proxy-url and tls-server-name. Relative paths are relative to the file's
// folder, as kubectl resolves them.
[[nodiscard]] connection_config load_kubeconfig(const std::filesystem::path& path,
                                                std::string_view context = {});

// Parses kubeconfig text as `load_kubeconfig` does; `path` names the file in
// messages and anchors relative paths.
[[nodiscard]] connection_config parse_kubeconfig(std::string_view text,
                                                 const std::filesystem::path& path,
                                                 std::string_view context = {});

// The default folder of a pod's service account credentials.
inline constexpr std::string_view service_account_dir =
    "/var/run/secrets/kubernetes.io/serviceaccount";

// Returns an environment variable's value, or nullptr when it is unset.
using environment_lookup = std::function<const char*(const char*)>;

// Whether the process runs in a pod: KUBERNETES_SERVICE_HOST is set.
[[nodiscard]] bool in_cluster(const environment_lookup& environment);

// Builds the in-cluster config: the API server from KUBERNETES_SERVICE_HOST and
// KUBERNETES_SERVICE_PORT, the token file, CA and namespace from `account_dir`.
[[nodiscard]] connection_config load_in_cluster_config(
    const environment_lookup& environment,
    const std::filesystem::path& account_dir = std::filesystem::path{service_account_dir});

}  // namespace podsession::controller::kubernetes
