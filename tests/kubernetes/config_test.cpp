#include "controller/kubernetes/config.hpp"

#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "controller/kubernetes/base64.hpp"
#include "tests/crd/alias_bomb.hpp"

namespace podsession::controller::kubernetes {
namespace {

namespace fs = std::filesystem;

// A folder of its own per test, removed afterwards.
class kubeconfig_test : public ::testing::Test {
  protected:
    void SetUp() override {
        folder_ = fs::temp_directory_path() /
                  ("kubeconfig-test-" + std::to_string(::getpid()) + "-" +
                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(folder_);
        fs::create_directories(folder_);
        write("ca.crt", "CA PEM");
        write("client.crt", "CERT PEM");
        write("client.key", "KEY PEM");
        write("token", "file-token\n");
    }
    void TearDown() override { fs::remove_all(folder_); }

    fs::path write(const std::string& name, const std::string& content) {
        const auto path = folder_ / name;
        std::ofstream{path} << content;
        return path;
    }

    // A kubeconfig with one cluster, one user and one context.
    connection_config parse(const std::string& cluster, const std::string& user,
                            const std::string& extra = "", std::string_view context = {}) {
        const std::string text =
            "apiVersion: v1\nkind: Config\n"
            "clusters:\n- name: c1\n  cluster:\n" +
            cluster + "users:\n- name: u1\n  user:\n" + user +
            "contexts:\n- name: ctx\n  context: {cluster: c1, user: u1, "
            "namespace: apps}\n" +
            extra + "current-context: ctx\n";
        return parse_kubeconfig(text, folder_ / "config", context);
    }

    // The message of the config_error that parsing throws.
    std::string error_of(const std::string& cluster, const std::string& user,
                         const std::string& extra = "") {
        try {
            (void)parse(cluster, user, extra);
        } catch (const config_error& error) {
            return error.what();
        }
        ADD_FAILURE() << "expected a config_error";
        return {};
    }

    fs::path folder_;
};

const std::string server = "    server: https://127.0.0.1:6443\n";

TEST_F(kubeconfig_test, reads_inline_token) {
    const auto config = parse(server + "    certificate-authority: ca.crt\n", "    token: abc\n");
    EXPECT_EQ(config.server, "https://127.0.0.1:6443");
    ASSERT_TRUE(config.token.has_value());
    EXPECT_EQ(config.token->reveal(), "abc");
    EXPECT_TRUE(config.token_file.empty());
    EXPECT_EQ(config.namespace_name, "apps");
    EXPECT_EQ(config.tls.ca_file, folder_ / "ca.crt");
    EXPECT_EQ(config.tls.verification, net::peer_verification::verify);
    EXPECT_EQ(config.source,
              "kubeconfig " + (folder_ / "config").string() + " (context \"ctx\", user \"u1\")");
}

TEST_F(kubeconfig_test, reads_token_file_relative_to_kubeconfig) {
    const auto config = parse(server, "    tokenFile: token\n");
    EXPECT_EQ(config.token_file, folder_ / "token");
    EXPECT_FALSE(config.token.has_value());
}

TEST_F(kubeconfig_test, reads_client_certificate_files) {
    const auto config = parse(server,
                              "    client-certificate: client.crt\n"
                              "    client-key: " +
                                  (folder_ / "client.key").string() + "\n");
    EXPECT_EQ(config.tls.certificate_file, folder_ / "client.crt");
    EXPECT_EQ(config.tls.private_key_file, folder_ / "client.key");
    EXPECT_TRUE(config.tls.certificate_pem.empty());
}

TEST_F(kubeconfig_test, reads_client_certificate_data) {
    const auto config =
        parse(server + "    certificate-authority-data: " + encode_base64("CA PEM") + "\n",
              "    client-certificate-data: " + encode_base64("CERT PEM") +
                  "\n    client-key-data: " + encode_base64("KEY PEM") + "\n");
    EXPECT_EQ(config.tls.certificate_pem, "CERT PEM");
    EXPECT_EQ(config.tls.private_key_pem, "KEY PEM");
    EXPECT_EQ(config.tls.ca_pem, "CA PEM");
    EXPECT_FALSE(config.tls.ca_file.has_value());
    EXPECT_FALSE(config.tls.certificate_file.has_value());
}

TEST_F(kubeconfig_test, data_wins_over_file) {
    const auto config = parse(server +
                                  "    certificate-authority: ca.crt\n"
                                  "    certificate-authority-data: " +
                                  encode_base64("INLINE") + "\n",
                              "    token: t\n");
    EXPECT_EQ(config.tls.ca_pem, "INLINE");
    EXPECT_FALSE(config.tls.ca_file.has_value());
}

TEST_F(kubeconfig_test, reads_insecure_skip_tls_verify) {
    const auto config = parse(server + "    insecure-skip-tls-verify: true\n", "    token: t\n");
    EXPECT_EQ(config.tls.verification, net::peer_verification::insecure_skip);
}

TEST_F(kubeconfig_test, empty_user_is_anonymous) {
    const auto config = parse(server, "    {}\n");
    EXPECT_FALSE(config.token.has_value());
    EXPECT_TRUE(config.token_file.empty());
    EXPECT_FALSE(config.tls.certificate_file.has_value());
}

TEST_F(kubeconfig_test, context_flag_picks_another_context) {
    const auto config = parse(server, "    token: t\n",
                              "- name: other\n  context: {cluster: c1, user: u1}\n", "other");
    EXPECT_EQ(config.namespace_name, "default");
    EXPECT_NE(config.source.find("context \"other\""), std::string::npos);
}

TEST_F(kubeconfig_test, trailing_slash_of_server_dropped) {
    const auto config = parse("    server: https://example.test:443/prefix/\n", "    token: t\n");
    EXPECT_EQ(config.server, "https://example.test:443/prefix");
}

TEST_F(kubeconfig_test, rejects_unsupported_user_entries) {
    const std::map<std::string, std::string> cases{
        {"    exec: {apiVersion: client.authentication.k8s.io/v1, command: aws}\n",
         "user \"u1\" uses an exec credential plugin (command \"aws\")"},
        {"    auth-provider: {name: gcp}\n", "user \"u1\" uses the auth-provider plugin \"gcp\""},
        {"    username: admin\n    password: secret\n", "user \"u1\" uses basic authentication"},
        {"    token: t\n    as: someone\n", "user \"u1\" sets as (impersonation)"},
        {"    token: t\n    as-groups: [a]\n", "user \"u1\" sets as-groups (impersonation)"},
        {"    client-certificate: client.crt\n",
         "user \"u1\" has a client certificate but no "
         "client-key"},
        {"    client-key-data: " + encode_base64("k") + "\n",
         "user \"u1\" has a client key but no client-certificate"},
        {"    client-certificate-data: '***'\n    client-key: client.key\n",
         "user \"u1\" field client-certificate-data is not valid base64"},
        {"    tokenFile: missing-token\n", "user \"u1\" tokenFile names"},
        {"    client-certificate: nowhere.crt\n    client-key: client.key\n",
         "field client-certificate names"},
    };
    for (const auto& [user, expected] : cases) {
        SCOPED_TRACE(user);
        const auto message = error_of(server, user);
        EXPECT_NE(message.find(expected), std::string::npos) << message;
        EXPECT_EQ(message.find("secret"), std::string::npos) << "a password leaked: " << message;
        EXPECT_EQ(message.rfind("kubeconfig " + (folder_ / "config").string(), 0), 0u);
    }
}

TEST_F(kubeconfig_test, exec_message_says_what_to_use_instead) {
    const auto message = error_of(server, "    exec: {command: gke-gcloud-auth-plugin}\n");
    EXPECT_NE(message.find("give the controller a token, a tokenFile or a client certificate"),
              std::string::npos)
        << message;
}

TEST_F(kubeconfig_test, rejects_unusable_clusters) {
    const std::map<std::string, std::string> cases{
        {"    certificate-authority: ca.crt\n", "cluster \"c1\" has no server URL"},
        {"    server: 127.0.0.1:6443\n", "is not an http:// or https:// URL"},
        {server + "    proxy-url: http://proxy:3128\n", "cluster \"c1\" sets proxy-url"},
        {server + "    tls-server-name: api.internal\n", "cluster \"c1\" sets tls-server-name"},
        {server + "    insecure-skip-tls-verify: true\n    certificate-authority: ca.crt\n",
         "sets both insecure-skip-tls-verify and a certificate authority"},
        {server + "    insecure-skip-tls-verify: maybe\n",
         "field insecure-skip-tls-verify must be true or false"},
        {server + "    certificate-authority: no-such-ca.crt\n",
         "field certificate-authority names"},
        {server + "    certificate-authority-data: 'not base64!'\n",
         "field certificate-authority-data is not valid base64"},
    };
    for (const auto& [cluster, expected] : cases) {
        SCOPED_TRACE(cluster);
        const auto message = error_of(cluster, "    token: t\n");
        EXPECT_NE(message.find(expected), std::string::npos) << message;
    }
}

TEST_F(kubeconfig_test, rejects_an_alias_bomb) {
    const auto message = error_of(server, "    token: abc\n", testing::alias_bomb_entries());
    // x4, the first anchor past the limit, is on line 18 of the text `parse` builds.
    EXPECT_EQ(message, "kubeconfig " + (folder_ / "config").string() +
                           ": anchors and aliases expand this document to more than 100000 "
                           "nodes (at alias *a3); write the values out instead of repeating "
                           "them through anchors and aliases at line 18");
}

TEST_F(kubeconfig_test, reads_names_given_through_aliases) {
    const std::string text =
        "apiVersion: v1\nkind: Config\n"
        "clusters:\n- name: &cluster c1\n  cluster: {server: \"https://127.0.0.1:6443\"}\n"
        "users:\n- name: &user u1\n  user: {token: abc}\n"
        "contexts:\n- name: ctx\n  context: {cluster: *cluster, user: *user}\n"
        "current-context: ctx\n";
    const auto config = parse_kubeconfig(text, folder_ / "config", {});
    EXPECT_EQ(config.server, "https://127.0.0.1:6443");
    ASSERT_TRUE(config.token.has_value());
    EXPECT_EQ(config.token->reveal(), "abc");
}

TEST_F(kubeconfig_test, rejects_broken_files) {
    const auto base = folder_ / "config";
    const std::map<std::string, std::string> cases{
        {"clusters: [unclosed", "is not valid YAML"},
        {"- a list", "is not a kubeconfig"},
        {"clusters: []\ncontexts: [{name: a, context: {cluster: c}}]\n",
         "has no current-context; pass --context NAME (contexts: \"a\")"},
        {"current-context: gone\ncontexts: [{name: a, context: {cluster: c}}]\n",
         "context \"gone\" not found (contexts: \"a\")"},
        {"current-context: a\ncontexts: [{name: a, context: {user: u}}]\n",
         "context \"a\" names no cluster"},
        {"current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\nclusters: []\n",
         "cluster \"c\" (named by context \"a\") not found (clusters: none)"},
        {"current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
         "clusters: [{name: c, cluster: {server: 'https://h:1'}}]\nusers: [{name: v}]\n",
         "user \"u\" (named by context \"a\") not found (users: \"v\")"},
        {"current-context: a\ncontexts: {a: b}\n", "contexts must be a list"},
    };
    for (const auto& [text, expected] : cases) {
        SCOPED_TRACE(text);
        try {
            (void)parse_kubeconfig(text, base);
            ADD_FAILURE() << "expected a config_error";
        } catch (const config_error& error) {
            EXPECT_NE(std::string{error.what()}.find(expected), std::string::npos) << error.what();
        }
    }
}

TEST_F(kubeconfig_test, unreadable_file_named) {
    try {
        (void)load_kubeconfig(folder_ / "absent");
        FAIL() << "expected a config_error";
    } catch (const config_error& error) {
        EXPECT_NE(std::string{error.what()}.find("cannot read kubeconfig " +
                                                 (folder_ / "absent").string()),
                  std::string::npos);
    }
}

TEST_F(kubeconfig_test, loads_file_from_disk) {
    const auto path = write("kubeconfig",
                            "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:8080'}}]\n"
                            "users: [{name: u, user: {tokenFile: token}}]\n"
                            "contexts: [{name: a, context: {cluster: c, user: u}}]\n"
                            "current-context: a\n");
    const auto config = load_kubeconfig(path);
    EXPECT_EQ(config.server, "http://127.0.0.1:8080");
    EXPECT_EQ(config.token_file, folder_ / "token");
}

// The environment of a pod, as a lookup function.
environment_lookup environment(std::map<std::string, std::string> values) {
    return [values = std::move(values)](const char* name) -> const char* {
        const auto found = values.find(name);
        return found == values.end() ? nullptr : found->second.c_str();
    };
}

TEST_F(kubeconfig_test, in_cluster_reads_service_account) {
    write("namespace", "podsession-system\n");
    const auto env =
        environment({{"KUBERNETES_SERVICE_HOST", "10.0.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}});
    ASSERT_TRUE(in_cluster(env));
    const auto config = load_in_cluster_config(env, folder_);
    EXPECT_EQ(config.server, "https://10.0.0.1:443");
    EXPECT_EQ(config.token_file, folder_ / "token");
    EXPECT_EQ(config.tls.ca_file, folder_ / "ca.crt");
    EXPECT_EQ(config.namespace_name, "podsession-system");
    EXPECT_EQ(config.tls.verification, net::peer_verification::verify);
}

TEST_F(kubeconfig_test, in_cluster_brackets_ipv6_host) {
    const auto env =
        environment({{"KUBERNETES_SERVICE_HOST", "fd00::1"}, {"KUBERNETES_SERVICE_PORT", "6443"}});
    EXPECT_EQ(load_in_cluster_config(env, folder_).server, "https://[fd00::1]:6443");
}

TEST_F(kubeconfig_test, in_cluster_namespace_defaults) {
    const auto env =
        environment({{"KUBERNETES_SERVICE_HOST", "10.0.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}});
    EXPECT_EQ(load_in_cluster_config(env, folder_).namespace_name, "default");
}

TEST_F(kubeconfig_test, in_cluster_errors_name_the_fix) {
    EXPECT_FALSE(in_cluster(environment({})));
    const auto pod =
        environment({{"KUBERNETES_SERVICE_HOST", "10.0.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}});
    const auto expect_error = [](const std::function<void()>& load, const std::string& expected) {
        try {
            load();
            ADD_FAILURE() << "expected a config_error";
        } catch (const config_error& error) {
            EXPECT_NE(std::string{error.what()}.find(expected), std::string::npos) << error.what();
        }
    };
    expect_error(
        [&] {
            (void)load_in_cluster_config(environment({{"KUBERNETES_SERVICE_HOST", "h"}}), folder_);
        },
        "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must both be set");
    expect_error(
        [&] {
            (void)load_in_cluster_config(environment({{"KUBERNETES_SERVICE_HOST", "bad host"},
                                                      {"KUBERNETES_SERVICE_PORT", "443"}}),
                                         folder_);
        },
        "do not form a valid URL");

    fs::remove(folder_ / "ca.crt");
    expect_error([&] { (void)load_in_cluster_config(pod, folder_); },
                 "the service account CA " + (folder_ / "ca.crt").string() + " is missing");
    write("token", "  \n");
    expect_error([&] { (void)load_in_cluster_config(pod, folder_); },
                 "cannot read the service account token");
    fs::remove(folder_ / "token");
    expect_error([&] { (void)load_in_cluster_config(pod, folder_); },
                 "automountServiceAccountToken");
}

TEST(base64, round_trips_and_rejects_bad_text) {
    for (const std::string text : {"", "a", "ab", "abc", "abcd", "\xff\x10 binary"}) {
        SCOPED_TRACE(text);
        EXPECT_EQ(decode_base64(encode_base64(text)), text);
    }
    EXPECT_EQ(encode_base64("abcd"), "YWJjZA==");
    EXPECT_EQ(decode_base64("YWJj\nZA=="), "abcd");
    for (const std::string_view bad : {"YWJjZA=", "YW=jZA==", "YWJj*A==", "=AAA", "YWJjZ==="}) {
        SCOPED_TRACE(bad);
        EXPECT_FALSE(decode_base64(bad).has_value());
    }
}

}  // namespace
}  // namespace podsession::controller::kubernetes
