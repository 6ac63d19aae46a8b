#include "crd/decode.hpp"

#include <algorithm>
#include <string>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>
#include <boost/json/parse.hpp>

#include "tests/crd/alias_bomb.hpp"

namespace podsession::crd {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view valid_session = R"(apiVersion: podsession.io/v1alpha1
kind: PodSession
metadata:
  name: user-42
  namespace: apps
  annotations:
    podsession.io/last-touched: "2026-12-04T19:37:02Z"
spec:
  userId: "42"
  image: ghcr.io/me/inference:latest
  gpu:
    types: [h100, NVIDIA H100 PCIe]
    count: 1
  cloud: SECURE
  dataCenterIds: [US-TX-3]
  ports:
    - {port: 8000, protocol: http}
    - {port: 22, protocol: tcp}
  env:
    - {name: MODEL, value: llama-3}
  auth: bearer
  idleTTLSeconds: 900
  readyTimeoutSeconds: 1200
  maxLifetimeSeconds: 28800
  containerDiskGb: 50
  volumeGb: 0
  minCudaVersion: "12.4"
)";

std::vector<file_document> decode_text(std::string_view text) {
    return decode_pod_session_file(text);
}

TEST(decode, reads_every_field_of_a_valid_session) {
    const auto documents = decode_text(valid_session);
    ASSERT_EQ(documents.size(), 1u);
    const auto& result = documents[0].result;
    ASSERT_TRUE(result.errors.empty()) << result.errors[0].to_string();
    ASSERT_TRUE(result.session.has_value());

    const auto& session = *result.session;
    EXPECT_EQ(session.metadata.name, "user-42");
    EXPECT_EQ(session.metadata.namespace_name, "apps");
    EXPECT_EQ(session.metadata.annotations.at("podsession.io/last-touched"),
              "2026-12-04T19:37:02Z");
    EXPECT_EQ(session.spec.user_id, "42");
    EXPECT_EQ(session.spec.image, "ghcr.io/me/inference:latest");
    EXPECT_EQ(session.spec.gpu.types,
              (std::vector<std::string>{"NVIDIA H100 80GB HBM3", "NVIDIA H100 PCIe"}));
    EXPECT_EQ(session.spec.gpu.count, 1);
    EXPECT_EQ(session.spec.cloud, cloud_type::secure);
    EXPECT_EQ(session.spec.data_center_ids, std::vector<std::string>{"US-TX-3"});
    ASSERT_EQ(session.spec.ports.size(), 2u);
    EXPECT_EQ(session.spec.ports[1].port, 22);
    EXPECT_EQ(session.spec.ports[1].protocol, port_protocol::tcp);
    ASSERT_EQ(session.spec.env.size(), 1u);
    EXPECT_EQ(session.spec.env[0].name, "MODEL");
    EXPECT_EQ(session.spec.env[0].value, "llama-3");
    EXPECT_EQ(session.spec.auth, auth_mode::bearer);
    EXPECT_EQ(session.spec.idle_ttl, 900s);
    EXPECT_EQ(session.spec.ready_timeout, 1200s);
    EXPECT_EQ(session.spec.max_lifetime, 28800s);
    EXPECT_EQ(session.spec.container_disk_gb, 50);
    EXPECT_EQ(session.spec.min_cuda_version, "12.4");
}

TEST(decode, applies_defaults) {
    const auto documents = decode_text(R"(apiVersion: podsession.io/v1alpha1
kind: PodSession
metadata: {name: minimal}
spec:
  image: busybox
  gpu: {types: [l4]}
)");
    ASSERT_EQ(documents.size(), 1u);
    ASSERT_TRUE(documents[0].result.session.has_value());
    const auto& session = *documents[0].result.session;
    EXPECT_EQ(session.metadata.namespace_name, "default");
    EXPECT_EQ(session.spec.gpu.count, 1);
    EXPECT_EQ(session.spec.cloud, cloud_type::secure);
    EXPECT_EQ(session.spec.auth, auth_mode::bearer);
    EXPECT_FALSE(session.spec.idle_ttl.has_value());
    EXPECT_EQ(session.spec.ready_timeout, 1200s);
    EXPECT_FALSE(session.spec.max_lifetime.has_value());
    EXPECT_EQ(session.spec.container_disk_gb, 50);
    EXPECT_EQ(session.spec.volume_gb, 0);
}

// Replaces the first occurrence of `from` in the valid session.
std::string valid_with(std::string_view from, std::string_view to) {
    std::string text{valid_session};
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    return text;
}

TEST(decode, reports_each_invalid_field_with_path_line_and_rule) {
    struct test_case {
        std::string name;
        std::string text;
        std::string expected;  // field_error::to_string()
        int line;
    };
    const test_case cases[] = {
        {"port out of range", valid_with("{port: 22,", "{port: 70000,"),
         "spec.ports[1].port: 70000 is out of range 1..65535", 18},
        {"negative ttl", valid_with("idleTTLSeconds: 900", "idleTTLSeconds: -5"),
         "spec.idleTTLSeconds: -5 is out of range 1..2592000", 22},
        {"ttl as string", valid_with("idleTTLSeconds: 900", "idleTTLSeconds: \"900\""),
         "spec.idleTTLSeconds: \"900\" must be an integer", 22},
        {"ttl as float", valid_with("idleTTLSeconds: 900", "idleTTLSeconds: 9.5"),
         "spec.idleTTLSeconds: 9.5 must be an integer", 22},
        {"unknown field", valid_with("  cloud: SECURE", "  clod: SECURE"),
         "spec.clod: is not a known field; expected one of userId, image, gpu, cloud, "
         "dataCenterIds, ports, env, auth, idleTTLSeconds, readyTimeoutSeconds, "
         "maxLifetimeSeconds, containerDiskGb, volumeGb, minCudaVersion",
         14},
        {"bad cloud", valid_with("cloud: SECURE", "cloud: secure"),
         "spec.cloud: secure must be one of SECURE, COMMUNITY", 14},
        {"bad auth", valid_with("auth: bearer", "auth: token"),
         "spec.auth: token must be one of bearer, signedUrl, none", 21},
        {"reserved env", valid_with("{name: MODEL,", "{name: ATLAS_PRESHARED_KEY,"),
         "spec.env[0].name: ATLAS_PRESHARED_KEY is reserved: names starting with ATLAS_ or "
         "PODSESSION_ are set by the controller; rename the variable",
         20},
        {"small volume", valid_with("volumeGb: 0", "volumeGb: 5"),
         "spec.volumeGb: 5 is not allowed: RunPod volumes start at 10 GB; use 0 for no volume", 26},
        {"bad cuda", valid_with("minCudaVersion: \"12.4\"", "minCudaVersion: \"twelve\""),
         "spec.minCudaVersion: \"twelve\" must be major.minor, such as \"12.4\"", 27},
        {"bad protocol", valid_with("protocol: tcp", "protocol: udp"),
         "spec.ports[1].protocol: udp must be one of http, tcp", 18},
        {"duplicate port", valid_with("{port: 22,", "{port: 8000,"),
         "spec.ports[1].port: 8000 is listed twice; each port may appear once", 18},
        {"gpu count", valid_with("count: 1", "count: 9"), "spec.gpu.count: 9 is out of range 1..8",
         13},
        {"bad name", valid_with("name: user-42", "name: User_42"),
         "metadata.name: User_42 must be lowercase letters, digits, '-' and '.', starting and "
         "ending with a letter or digit, with at most 63 characters between dots",
         4},
        {"wrong kind", valid_with("kind: PodSession", "kind: Pod"),
         "kind: Pod is not supported; this controller reads only PodSession objects", 2},
        {"wrong version", valid_with("podsession.io/v1alpha1", "podsession.io/v1"),
         "apiVersion: podsession.io/v1 is not supported; use podsession.io/v1alpha1", 1},
        {"bad data centre", valid_with("[US-TX-3]", "[\"US TX 3\"]"),
         "spec.dataCenterIds[0]: \"US TX 3\" must be a RunPod data centre id such as US-TX-3", 15},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const auto documents = decode_text(c.text);
        ASSERT_EQ(documents.size(), 1u);
        const auto& result = documents[0].result;
        EXPECT_FALSE(result.session.has_value());
        ASSERT_EQ(result.errors.size(), 1u) << result.errors[0].to_string();
        EXPECT_EQ(result.errors[0].to_string(), c.expected);
        EXPECT_EQ(result.errors[0].line, c.line);
    }
}

TEST(decode, names_unknown_gpu_alias_and_lists_the_aliases) {
    const auto documents =
        decode_text(valid_with("types: [h100, NVIDIA H100 PCIe]", "types: [h100x]"));
    ASSERT_EQ(documents[0].result.errors.size(), 1u);
    const auto& error = documents[0].result.errors[0];
    EXPECT_EQ(error.path, "spec.gpu.types[0]");
    EXPECT_EQ(error.value, "h100x");
    EXPECT_EQ(error.line, 12);
    EXPECT_NE(error.rule.find("is not a known GPU type"), std::string::npos);
    EXPECT_NE(error.rule.find("h100-pcie"), std::string::npos);
    EXPECT_NE(error.rule.find("NVIDIA H100 80GB HBM3"), std::string::npos);
}

TEST(decode, reports_all_errors_of_a_document) {
    const auto documents = decode_text(R"(apiVersion: podsession.io/v1alpha1
kind: PodSession
metadata: {name: many}
spec:
  gpu: {types: []}
  idleTTLSeconds: 0
  ports: [{port: 0}]
  extra: 1
)");
    ASSERT_EQ(documents.size(), 1u);
    std::vector<std::string> paths;
    for (const auto& error : documents[0].result.errors) {
        paths.push_back(error.path);
    }
    std::ranges::sort(paths);
    EXPECT_EQ(paths,
              (std::vector<std::string>{"spec.extra", "spec.gpu.types", "spec.idleTTLSeconds",
                                        "spec.image", "spec.ports[0].port"}));
}

TEST(decode, never_shows_env_values_in_errors) {
    const auto documents = decode_text(
        valid_with("{name: MODEL, value: llama-3}", "{name: MODEL, value: {secret: hunter2}}"));
    ASSERT_EQ(documents[0].result.errors.size(), 1u);
    EXPECT_EQ(documents[0].result.errors[0].to_string().find("hunter2"), std::string::npos);
}

// Every form an env entry can take when someone pastes a secret into it.
TEST(decode, never_shows_env_secrets_in_any_form) {
    constexpr std::string_view secret = "sk-SECRET1";
    const std::string forms[] = {
        valid_with("{name: MODEL, value: llama-3}", "\"API_KEY=sk-SECRET1\""),
        valid_with("{name: MODEL, value: llama-3}", "API_KEY=sk-SECRET1"),
        valid_with("{name: MODEL, value: llama-3}", "[API_KEY, sk-SECRET1]"),
        valid_with("{name: MODEL, value: llama-3}", "{API_KEY: sk-SECRET1}"),
        valid_with("{name: MODEL, value: llama-3}", "{sk-SECRET1: x}"),
        valid_with("{name: MODEL, value: llama-3}", "{name: sk-SECRET1, value: x}"),
        valid_with("{name: MODEL, value: llama-3}", "{name: [sk-SECRET1], value: x}"),
        valid_with("{name: MODEL, value: llama-3}", "{name: MODEL, value: [sk-SECRET1]}"),
        valid_with("env:\n    - {name: MODEL, value: llama-3}", "env: \"API_KEY=sk-SECRET1\""),
        valid_with("env:\n    - {name: MODEL, value: llama-3}", "env: {API_KEY: sk-SECRET1}"),
    };
    for (const auto& text : forms) {
        SCOPED_TRACE(text);
        const auto documents = decode_text(text);
        ASSERT_EQ(documents.size(), 1u);
        ASSERT_FALSE(documents[0].result.errors.empty());
        for (const auto& error : documents[0].result.errors) {
            EXPECT_EQ(error.to_string().find(secret), std::string::npos) << error.to_string();
            EXPECT_EQ(error.path.find("spec.env"), 0u) << error.to_string();
        }
    }
}

TEST(decode, names_env_variable_of_scalar_entry) {
    const auto documents =
        decode_text(valid_with("{name: MODEL, value: llama-3}", "\"API_KEY=sk-SECRET1\""));
    ASSERT_EQ(documents[0].result.errors.size(), 1u);
    const auto message = documents[0].result.errors[0].to_string();
    EXPECT_EQ(message.rfind("spec.env[0]: is a scalar for API_KEY; write it as {name: API_KEY, "
                            "value: ...}", 0),
              0u)
        << message;
}

TEST(decode, never_shows_content_of_non_object_documents) {
    constexpr std::string_view secret = "KV9OBSaoQtSECRET";
    const std::string texts[] = {
        std::string{secret} + "\n",
        "\"" + std::string{secret} + "\"\n",
        "- " + std::string{secret} + "\n",
        "API_KEY: " + std::string{secret} + "\n",
        std::string{secret} + ": x\n",
    };
    for (const auto& text : texts) {
        SCOPED_TRACE(text);
        const auto documents = decode_text(text);
        ASSERT_EQ(documents.size(), 1u);
        ASSERT_EQ(documents[0].result.errors.size(), 1u);
        const auto message = documents[0].result.errors[0].to_string();
        EXPECT_EQ(message.find(secret), std::string::npos) << message;
        EXPECT_EQ(documents[0].result.errors[0].path, "(document)");
    }
    const auto scalar = decode_text(std::string{secret} + "\n")[0].result.errors[0].to_string();
    EXPECT_NE(scalar.find("is a scalar, not a mapping"), std::string::npos) << scalar;
    EXPECT_NE(scalar.find("Move other files out of the sessions directory"), std::string::npos);
}

TEST(decode, cuts_long_values_and_escapes_controls) {
    const auto documents = decode_text(
        valid_with("image: ghcr.io/me/inference:latest",
                   "image: \"ghcr.io/me/\\e[31m 0123456789012345678901234567890123456789\""));
    ASSERT_EQ(documents[0].result.errors.size(), 1u);
    const auto& value = documents[0].result.errors[0].value;
    EXPECT_EQ(value.find('\x1b'), std::string::npos) << value;
    EXPECT_NE(value.find("\\x1b"), std::string::npos) << value;
    EXPECT_EQ(value.find("0123456789012345678901234567890123456789"), std::string::npos) << value;
    EXPECT_NE(value.find("(57 characters)"), std::string::npos) << value;
}

TEST(decode, reports_duplicate_keys) {
    const auto documents = decode_text(valid_with(
        "  gpu:\n    types: [h100, NVIDIA H100 PCIe]\n    count: 1\n",
        "  gpu: {types: [h100], count: 1}\n  gpu: {types: [h100], count: 9}\n  ports:\n"
        "    - {port: 1, port: 2}\n"));
    ASSERT_EQ(documents.size(), 1u);
    const auto& errors = documents[0].result.errors;
    EXPECT_FALSE(documents[0].result.session.has_value());
    std::vector<std::string> messages;
    for (const auto& error : errors) {
        messages.push_back(error.to_string() + " @" + std::to_string(error.line));
    }
    const auto has = [&](std::string_view prefix) {
        return std::ranges::any_of(messages, [&](const std::string& m) { return m.starts_with(prefix); });
    };
    EXPECT_TRUE(has("spec.gpu: is a duplicate key; other YAML tools keep the last value")) << ::testing::PrintToString(messages);
    EXPECT_TRUE(has("spec.ports[0].port: is a duplicate key")) << ::testing::PrintToString(messages);
    const auto gpu = std::ranges::find_if(errors, [](const field_error& e) { return e.path == "spec.gpu"; });
    ASSERT_NE(gpu, errors.end());
    EXPECT_EQ(gpu->line, 12);
}

TEST(decode, explains_missing_spec_and_wrong_kind) {
    struct test_case {
        std::string name;
        std::string text;
        std::string expected;
    };
    const std::string header = "apiVersion: podsession.io/v1alpha1\nkind: PodSession\n";
    const test_case cases[] = {
        {"missing spec", header + "metadata: {name: u1}\n", "spec: is required"},
        {"missing metadata", header + "spec: {image: x, gpu: {types: [h100]}}\n",
         "metadata: is required"},
        {"kind Pod", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n",
         "kind: Pod is not supported; this controller reads only PodSession objects"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const auto documents = decode_text(c.text);
        ASSERT_EQ(documents.size(), 1u);
        EXPECT_FALSE(documents[0].unparsable);
        std::vector<std::string> messages;
        for (const auto& error : documents[0].result.errors) {
            messages.push_back(error.to_string());
            EXPECT_EQ(error.rule.find("not valid YAML"), std::string::npos) << error.to_string();
        }
        EXPECT_NE(std::ranges::find(messages, c.expected), messages.end())
            << ::testing::PrintToString(messages);
    }
}

TEST(decode, names_label_limit_range_and_depth) {
    const auto label = decode_text(valid_with("name: user-42", "name: " + std::string(64, 'a')));
    ASSERT_EQ(label[0].result.errors.size(), 1u);
    EXPECT_NE(label[0].result.errors[0].rule.find("at most 63 characters between dots"),
              std::string::npos);

    const auto huge = decode_text(valid_with("readyTimeoutSeconds: 1200",
                                             "readyTimeoutSeconds: 99999999999999999999"));
    ASSERT_EQ(huge[0].result.errors.size(), 1u);
    EXPECT_EQ(huge[0].result.errors[0].rule, "is out of range 1..86400");

    const auto deep = decode_text("a: " + std::string(2000, '[') + "\n");
    ASSERT_EQ(deep.size(), 1u);
    ASSERT_EQ(deep[0].result.errors.size(), 1u);
    EXPECT_NE(deep[0].result.errors[0].rule.find("nests too deeply"), std::string::npos)
        << deep[0].result.errors[0].rule;
}

TEST(decode, requires_status_to_be_absent_from_files) {
    const auto documents = decode_text(std::string{valid_session} + "status: {phase: Running}\n");
    ASSERT_EQ(documents[0].result.errors.size(), 1u);
    EXPECT_EQ(documents[0].result.errors[0].path, "status");
    EXPECT_EQ(documents[0].result.errors[0].line, 28);
}

TEST(decode, keeps_metadata_of_invalid_objects_for_messages) {
    const auto documents = decode_text(valid_with("idleTTLSeconds: 900", "idleTTLSeconds: -1"));
    EXPECT_EQ(documents[0].result.metadata.name, "user-42");
    EXPECT_EQ(documents[0].result.metadata.namespace_name, "apps");
}

TEST(decode, splits_documents_and_isolates_a_broken_one) {
    const std::string text =
        "# leading comment\n---\n" + std::string{valid_session} + "---\nspec: [unclosed\n---\n" +
        valid_with("name: user-42", "name: user-43") + "---\n# only a comment\n";
    const auto documents = decode_text(text);
    ASSERT_EQ(documents.size(), 3u);

    EXPECT_TRUE(documents[0].result.session.has_value());
    EXPECT_EQ(documents[0].result.line, 3);

    EXPECT_TRUE(documents[1].unparsable);
    ASSERT_EQ(documents[1].result.errors.size(), 1u);
    EXPECT_NE(documents[1].result.errors[0].rule.find("is not valid YAML"), std::string::npos);
    EXPECT_EQ(documents[1].result.errors[0].line, 32);

    ASSERT_TRUE(documents[2].result.session.has_value());
    EXPECT_EQ(documents[2].result.session->metadata.name, "user-43");
    EXPECT_EQ(documents[2].result.line, 33);
}

TEST(decode, alias_bomb_is_unparsable) {
    const std::string text = std::string{valid_session} + "---\n" + testing::alias_bomb_session();
    const auto documents = decode_text(text);
    ASSERT_EQ(documents.size(), 2u);
    EXPECT_TRUE(documents[0].result.session.has_value());

    // Unparsable, so that directory mode keeps the file's sessions as they were.
    EXPECT_TRUE(documents[1].unparsable);
    EXPECT_FALSE(documents[1].result.session.has_value());
    ASSERT_EQ(documents[1].result.errors.size(), 1u);
    const auto& error = documents[1].result.errors[0];
    EXPECT_EQ(error.path, "(document)");
    // The separator is line 28; x4 is the 8th line after it.
    EXPECT_EQ(error.line, 36);
    EXPECT_EQ(error.to_string(),
              "(document): anchors and aliases expand this document to more than 100000 nodes "
              "(at alias *a3); write the values out instead of repeating them through anchors "
              "and aliases");
}

TEST(decode, reads_sessions_that_use_aliases) {
    const auto documents = decode_text(
        "apiVersion: podsession.io/v1alpha1\nkind: PodSession\n"
        "metadata: {name: &name user-42, labels: {user: *name}}\n"
        "spec:\n  image: &image x:1\n  userId: *image\n  gpu: {types: &types [h100]}\n"
        "  ports: [{port: 8000}]\n");
    ASSERT_EQ(documents.size(), 1u);
    ASSERT_TRUE(documents[0].result.session.has_value())
        << documents[0].result.errors[0].to_string();
    EXPECT_EQ(documents[0].result.session->metadata.labels.at("user"), "user-42");
    EXPECT_EQ(documents[0].result.session->spec.user_id, "x:1");
}

TEST(decode, rejects_text_that_is_not_a_mapping) {
    for (const std::string_view text : {"just a sentence\n", "- a\n- b\n", "{{{"}) {
        SCOPED_TRACE(text);
        const auto documents = decode_text(text);
        ASSERT_EQ(documents.size(), 1u);
        ASSERT_FALSE(documents[0].result.errors.empty());
        EXPECT_FALSE(documents[0].result.session.has_value());
    }
}

TEST(decode, ignores_server_fields_in_api_objects_and_reads_status) {
    const auto object = boost::json::parse(R"({
      "apiVersion": "podsession.io/v1alpha1", "kind": "PodSession",
      "metadata": {"name": "user-42", "namespace": "apps", "uid": "3f1c9e2a-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
                   "resourceVersion": "17", "generation": 3, "finalizers": ["podsession.io/pod-cleanup"],
                   "creationTimestamp": "2026-12-04T19:00:00Z", "deletionTimestamp": "2026-12-04T20:00:00Z",
                   "managedFields": [{"manager": "kubectl"}]},
      "spec": {"image": "busybox", "gpu": {"types": ["l4"], "count": 1}, "idleTTLSeconds": 60},
      "status": {"phase": "Running", "podId": "abc123", "costPerHour": "0.44", "observedGeneration": 3,
                 "conditions": [{"type": "Ready", "status": "True", "reason": "PodRunning", "message": ""}]}
    })");
    const auto result = decode_pod_session(object);
    ASSERT_TRUE(result.errors.empty()) << result.errors[0].to_string();
    ASSERT_TRUE(result.session.has_value());
    const auto& session = *result.session;
    EXPECT_EQ(session.metadata.uid, "3f1c9e2a-5b7d-4e8f-9a0b-1c2d3e4f5a6b");
    EXPECT_EQ(session.metadata.resource_version, "17");
    EXPECT_EQ(session.metadata.generation, 3);
    EXPECT_EQ(session.metadata.finalizers, std::vector<std::string>{"podsession.io/pod-cleanup"});
    EXPECT_TRUE(session.metadata.deletion_timestamp.has_value());
    EXPECT_EQ(session.spec.idle_ttl, 60s);
    EXPECT_EQ(session.status.phase, session_phase::running);
    EXPECT_EQ(session.status.pod_id, "abc123");
    EXPECT_EQ(session.status.cost_per_hour, 0.44);
    ASSERT_NE(session.status.find_condition("Ready"), nullptr);
    EXPECT_EQ(session.status.find_condition("Ready")->status, "True");
}

TEST(decode, tells_json_strings_from_numbers) {
    const auto object = boost::json::parse(R"({
      "apiVersion": "podsession.io/v1alpha1", "kind": "PodSession", "metadata": {"name": "x"},
      "spec": {"image": "busybox", "gpu": {"types": ["l4"]}, "idleTTLSeconds": "60", "userId": 42}
    })");
    const auto result = decode_pod_session(object);
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].to_string(), "spec.idleTTLSeconds: \"60\" must be an integer");
    EXPECT_EQ(result.errors[0].line, 0);
}

TEST(decode, reports_unknown_gpu_in_api_objects) {
    const auto object = boost::json::parse(R"({
      "apiVersion": "podsession.io/v1alpha1", "kind": "PodSession",
      "metadata": {"name": "x", "uid": "0123abcd-0000-0000-0000-000000000000"},
      "spec": {"image": "busybox", "gpu": {"types": ["h100x"]}}
    })");
    const auto result = decode_pod_session(object);
    EXPECT_FALSE(result.session.has_value());
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].path, "spec.gpu.types[0]");
    EXPECT_EQ(result.metadata.uid, "0123abcd-0000-0000-0000-000000000000");
}

}  // namespace
}  // namespace podsession::crd
