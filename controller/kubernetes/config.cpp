#include "controller/kubernetes/config.hpp"

#include <algorithm>
#include <initializer_list>

#include <yaml-cpp/yaml.h>

#include "controller/files.hpp"
#include "controller/kubernetes/base64.hpp"
#include "crd/yaml_load.hpp"
#include "net/url.hpp"

namespace podsession::controller::kubernetes {
namespace {

namespace fs = std::filesystem;

// A kubeconfig is small; anything larger is not one.
constexpr std::size_t max_kubeconfig_bytes = 4 * 1024 * 1024;
constexpr std::size_t max_token_bytes = 64 * 1024;

std::string in_quotes(std::string_view text) {
    return '"' + std::string{text} + '"';
}

std::string trim(std::string text) {
    const auto not_space = [](unsigned char c) { return !std::isspace(c); };
    text.erase(text.begin(), std::find_if(text.begin(), text.end(), not_space));
    text.erase(std::find_if(text.rbegin(), text.rend(), not_space).base(), text.end());
    return text;
}

// Reads one kubeconfig and reports its problems with the file's name.
class kubeconfig_reader {
  public:
    explicit kubeconfig_reader(const fs::path& path) : path_{path} {}

    [[noreturn]] void fail(const std::string& message) const {
        throw config_error{"kubeconfig " + path_.string() + ": " + message};
    }

    // A relative path in a kubeconfig is relative to the kubeconfig's folder.
    fs::path resolve(const std::string& file) const {
        const fs::path given{file};
        return given.is_absolute() ? given : path_.parent_path() / given;
    }

    std::string read_string(const YAML::Node& map, const char* key,
                            const std::string& where) const {
        const auto node = map[key];
        if (!node.IsDefined() || node.IsNull()) {
            return {};
        }
        if (!node.IsScalar()) {
            fail(where + " field " + key + " must be a string");
        }
        return node.Scalar();
    }

    bool read_bool(const YAML::Node& map, const char* key, const std::string& where) const {
        const auto text = read_string(map, key, where);
        if (text.empty() || text == "false") {
            return false;
        }
        if (text == "true") {
            return true;
        }
        fail(where + " field " + key + " must be true or false, not " + in_quotes(text));
    }

    // Finds the entry named `name` in the list under `key` (clusters, users,
    // contexts) and returns its inner mapping (`cluster`, `user`, `context`).
    YAML::Node find_entry(const YAML::Node& root, const char* list_key, const char* inner_key,
                          const std::string& name) const {
        const auto list = root[list_key];
        if (list.IsDefined() && !list.IsNull() && !list.IsSequence()) {
            fail(std::string{list_key} + " must be a list");
        }
        if (list.IsSequence()) {
            for (const auto& entry : list) {
                if (entry.IsMap() && entry["name"].IsScalar() && entry["name"].Scalar() == name) {
                    const auto inner = entry[inner_key];
                    if (inner.IsDefined() && !inner.IsNull() && !inner.IsMap()) {
                        fail(std::string{inner_key} + " " + in_quotes(name) + " must be a mapping");
                    }
                    return inner.IsMap() ? inner : YAML::Node{YAML::NodeType::Map};
                }
            }
        }
        return YAML::Node{YAML::NodeType::Undefined};
    }

    std::string names_in(const YAML::Node& root, const char* list_key) const {
        std::string names;
        const auto list = root[list_key];
        if (list.IsSequence()) {
            for (const auto& entry : list) {
                if (entry.IsMap() && entry["name"].IsScalar()) {
                    names += names.empty() ? "" : ", ";
                    names += in_quotes(entry["name"].Scalar());
                }
            }
        }
        return names.empty() ? "none" : names;
    }

    // Reads a PEM given as a file (`file_key`) or as base64 (`data_key`).
    // Exactly one of the returned file path or PEM text is set.
    struct pem_source {
        std::optional<fs::path> file;
        std::string pem;
    };

    pem_source read_pem(const YAML::Node& map, const char* file_key, const char* data_key,
                        const std::string& where) const {
        pem_source source;
        const auto file = read_string(map, file_key, where);
        const auto data = read_string(map, data_key, where);
        if (!data.empty()) {
            auto decoded = decode_base64(data);
            if (!decoded) {
                fail(where + " field " + data_key +
                     " is not valid base64; paste the output of `base64 -w0 FILE`");
            }
            source.pem = std::move(*decoded);
            return source;
        }
        if (!file.empty()) {
            const auto resolved = resolve(file);
            std::error_code error;
            if (!fs::is_regular_file(resolved, error)) {
                fail(where + " field " + file_key + " names " + resolved.string() +
                     ", which is not a readable file");
            }
            source.file = resolved;
        }
        return source;
    }

  private:
    fs::path path_;
};

void reject_unsupported_user_fields(const kubeconfig_reader& reader, const YAML::Node& user,
                                    const std::string& where) {
    const std::string fix =
        "; give the controller a token, a tokenFile or a client certificate instead (for "
        "example the token of a service account bound to podsession-controller's ClusterRole)";
    if (user["exec"].IsDefined() && !user["exec"].IsNull()) {
        std::string command;
        if (user["exec"].IsMap() && user["exec"]["command"].IsScalar()) {
            command = " (command " + in_quotes(user["exec"]["command"].Scalar()) + ")";
        }
        reader.fail(where + " uses an exec credential plugin" + command +
                    ", which podsession does not run" + fix);
    }
    if (user["auth-provider"].IsDefined() && !user["auth-provider"].IsNull()) {
        std::string name;
        if (user["auth-provider"].IsMap() && user["auth-provider"]["name"].IsScalar()) {
            name = " " + in_quotes(user["auth-provider"]["name"].Scalar());
        }
        reader.fail(where + " uses the auth-provider plugin" + name +
                    ", which podsession does not support" + fix);
    }
    if (!reader.read_string(user, "username", where).empty() ||
        !reader.read_string(user, "password", where).empty()) {
        reader.fail(where +
                    " uses basic authentication (username and password), which Kubernetes "
                    "removed in 1.19" +
                    fix);
    }
    for (const char* key : {"as", "as-uid", "as-groups", "as-user-extra"}) {
        if (user[key].IsDefined() && !user[key].IsNull()) {
            reader.fail(where + " sets " + key +
                        " (impersonation), which podsession does not support; bind the roles to "
                        "the controller's own identity instead");
        }
    }
}

}  // namespace

connection_config parse_kubeconfig(std::string_view text, const fs::path& path,
                                   std::string_view context) {
    const kubeconfig_reader reader{path};
    YAML::Node root;
    try {
        root = crd::load_yaml(text);
    } catch (const crd::yaml_expansion_error& error) {
        reader.fail(error.msg + " at line " + std::to_string(error.mark.line + 1));
    } catch (const YAML::Exception& error) {
        reader.fail("is not valid YAML: " + error.msg + " at line " +
                    std::to_string(error.mark.line + 1));
    }
    if (!root.IsMap()) {
        reader.fail("is not a kubeconfig (expected a mapping with clusters, users and contexts)");
    }

    // The context: --context, else current-context.
    std::string context_name{context};
    if (context_name.empty()) {
        context_name = reader.read_string(root, "current-context", "the file's");
        if (context_name.empty()) {
            reader.fail("has no current-context; pass --context NAME (contexts: " +
                        reader.names_in(root, "contexts") + ")");
        }
    }
    const auto context_entry = reader.find_entry(root, "contexts", "context", context_name);
    if (!context_entry.IsDefined()) {
        reader.fail("context " + in_quotes(context_name) +
                    " not found (contexts: " + reader.names_in(root, "contexts") + ")");
    }
    const std::string context_where = "context " + in_quotes(context_name);
    const auto cluster_name = reader.read_string(context_entry, "cluster", context_where);
    const auto user_name = reader.read_string(context_entry, "user", context_where);
    if (cluster_name.empty()) {
        reader.fail(context_where + " names no cluster");
    }

    connection_config config;
    config.source = "kubeconfig " + path.string() + " (context " + in_quotes(context_name) +
                    (user_name.empty() ? "" : ", user " + in_quotes(user_name)) + ")";
    if (const auto ns = reader.read_string(context_entry, "namespace", context_where);
        !ns.empty()) {
        config.namespace_name = ns;
    }

    // The cluster: server and how to trust it.
    const auto cluster = reader.find_entry(root, "clusters", "cluster", cluster_name);
    const std::string cluster_where = "cluster " + in_quotes(cluster_name);
    if (!cluster.IsDefined()) {
        reader.fail(cluster_where + " (named by " + context_where +
                    ") not found (clusters: " + reader.names_in(root, "clusters") + ")");
    }
    config.server = reader.read_string(cluster, "server", cluster_where);
    if (config.server.empty()) {
        reader.fail(cluster_where + " has no server URL");
    }
    while (config.server.size() > 1 && config.server.back() == '/') {
        config.server.pop_back();
    }
    if (!net::parse_origin(config.server)) {
        reader.fail(cluster_where + " server " + in_quotes(config.server) +
                    " is not an http:// or https:// URL with a host");
    }
    for (const char* key : {"proxy-url", "tls-server-name"}) {
        if (!reader.read_string(cluster, key, cluster_where).empty()) {
            reader.fail(cluster_where + " sets " + key +
                        ", which podsession does not support; connect to the server directly");
        }
    }
    const bool insecure = reader.read_bool(cluster, "insecure-skip-tls-verify", cluster_where);
    auto authority = reader.read_pem(cluster, "certificate-authority", "certificate-authority-data",
                                     cluster_where);
    if (insecure && (authority.file || !authority.pem.empty())) {
        reader.fail(cluster_where +
                    " sets both insecure-skip-tls-verify and a certificate authority; remove "
                    "one of them");
    }
    config.tls.verification =
        insecure ? net::peer_verification::insecure_skip : net::peer_verification::verify;
    config.tls.ca_file = authority.file;
    config.tls.ca_pem = std::move(authority.pem);

    // The user: how to authenticate. An empty or missing user is anonymous.
    if (user_name.empty()) {
        return config;
    }
    const auto user = reader.find_entry(root, "users", "user", user_name);
    const std::string user_where = "user " + in_quotes(user_name);
    if (!user.IsDefined()) {
        reader.fail(user_where + " (named by " + context_where +
                    ") not found (users: " + reader.names_in(root, "users") + ")");
    }
    reject_unsupported_user_fields(reader, user, user_where);

    if (auto token = reader.read_string(user, "token", user_where); !token.empty()) {
        config.token.emplace(std::move(token));
    }
    if (const auto file = reader.read_string(user, "tokenFile", user_where); !file.empty()) {
        config.token_file = reader.resolve(file);
        std::error_code error;
        if (!fs::is_regular_file(config.token_file, error)) {
            reader.fail(user_where + " tokenFile names " + config.token_file.string() +
                        ", which is not a readable file");
        }
    }
    auto certificate =
        reader.read_pem(user, "client-certificate", "client-certificate-data", user_where);
    auto key = reader.read_pem(user, "client-key", "client-key-data", user_where);
    const bool has_certificate = certificate.file || !certificate.pem.empty();
    const bool has_key = key.file || !key.pem.empty();
    if (has_certificate != has_key) {
        reader.fail(user_where +
                    (has_certificate ? " has a client certificate but no client-key"
                                     : " has a client key but no client-certificate") +
                    "; give both, as files or as *-data");
    }
    config.tls.certificate_file = certificate.file;
    config.tls.certificate_pem = std::move(certificate.pem);
    config.tls.private_key_file = key.file;
    config.tls.private_key_pem = std::move(key.pem);
    return config;
}

connection_config load_kubeconfig(const fs::path& path, std::string_view context) {
    const auto text = read_file(path, max_kubeconfig_bytes);
    if (!text) {
        throw config_error{"cannot read kubeconfig " + path.string() + ": " +
                           text.error().message()};
    }
    return parse_kubeconfig(*text, path, context);
}

bool in_cluster(const environment_lookup& environment) {
    const char* host = environment("KUBERNETES_SERVICE_HOST");
    return host != nullptr && *host != '\0';
}

connection_config load_in_cluster_config(const environment_lookup& environment,
                                         const fs::path& account_dir) {
    const char* host = environment("KUBERNETES_SERVICE_HOST");
    const char* port = environment("KUBERNETES_SERVICE_PORT");
    const std::string where = "in-cluster config";
    if (host == nullptr || *host == '\0' || port == nullptr || *port == '\0') {
        throw config_error{where +
                           ": KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must both be "
                           "set; outside a pod, pass --kubeconfig FILE"};
    }

    connection_config config;
    config.source = "in-cluster service account (" + account_dir.string() + ")";
    const std::string host_text{host};
    // An IPv6 service address needs brackets in a URL.
    const bool ipv6 = host_text.find(':') != std::string::npos;
    config.server = "https://" + (ipv6 ? "[" + host_text + "]" : host_text) + ":" + port;
    if (!net::parse_origin(config.server)) {
        throw config_error{where + ": KUBERNETES_SERVICE_HOST " + in_quotes(host_text) +
                           " and KUBERNETES_SERVICE_PORT " + in_quotes(port) +
                           " do not form a valid URL"};
    }

    config.token_file = account_dir / "token";
    const auto token = read_file(config.token_file, max_token_bytes);
    if (!token || trim(*token).empty()) {
        throw config_error{where + ": cannot read the service account token " +
                           config.token_file.string() +
                           (token ? " (empty)" : ": " + token.error().message()) +
                           "; check that the pod mounts its service account token "
                           "(automountServiceAccountToken)"};
    }
    const auto ca_file = account_dir / "ca.crt";
    std::error_code error;
    if (!fs::is_regular_file(ca_file, error)) {
        throw config_error{where + ": the service account CA " + ca_file.string() +
                           " is missing; check that the pod mounts its service account token"};
    }
    config.tls.ca_file = ca_file;
    if (const auto ns = read_file(account_dir / "namespace", 1024); ns && !trim(*ns).empty()) {
        config.namespace_name = trim(*ns);
    }
    return config;
}

}  // namespace podsession::controller::kubernetes
