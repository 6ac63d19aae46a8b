#include "controller/kubernetes/objects.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "controller/kubernetes/base64.hpp"

namespace podsession::controller::kubernetes {
namespace {

namespace json = boost::json;

// A PodSession as the API serves it, with server-set metadata.
json::value api_object(std::string_view spec, std::string_view extra_metadata = "",
                       std::string_view status = "") {
    std::string text = R"({"apiVersion":"podsession.io/v1alpha1","kind":"PodSession",)"
                       R"("metadata":{"name":"user-42","namespace":"apps",)"
                       R"("uid":"0b5a7c1e-7e3a-4d8e-9a51-1f2e3d4c5b6a","resourceVersion":"17",)"
                       R"("generation":3,"creationTimestamp":"2026-12-04T19:00:00Z",)"
                       R"("managedFields":[{"manager":"kubectl"}],)"
                       R"("annotations":{"podsession.io/last-touched":"2026-12-04T19:37:02Z"})";
    text += extra_metadata;
    text += R"(},"spec":)";
    text += spec;
    if (!status.empty()) {
        text += R"(,"status":)";
        text += status;
    }
    text += "}";
    return json::parse(text);
}

constexpr std::string_view valid_spec =
    R"({"image":"ghcr.io/example/app:1","gpu":{"types":["h100"],"count":1},"cloud":"SECURE",)"
    R"("ports":[{"port":8000,"protocol":"http"}],"auth":"bearer","readyTimeoutSeconds":1200,)"
    R"("containerDiskGb":50,"volumeGb":0})";

TEST(objects, declares_valid_session) {
    const auto session = to_declared_session(api_object(valid_spec));
    ASSERT_TRUE(session.spec.has_value());
    EXPECT_TRUE(session.errors.empty());
    EXPECT_EQ(session.metadata.name, "user-42");
    EXPECT_EQ(session.metadata.namespace_name, "apps");
    EXPECT_EQ(session.metadata.uid, "0b5a7c1e-7e3a-4d8e-9a51-1f2e3d4c5b6a");
    EXPECT_EQ(session.metadata.resource_version, "17");
    EXPECT_EQ(session.metadata.generation, 3);
    EXPECT_EQ(session.metadata.annotations.at("podsession.io/last-touched"),
              "2026-12-04T19:37:02Z");
    EXPECT_EQ(session.spec->gpu.types, std::vector<std::string>{"NVIDIA H100 80GB HBM3"});
    EXPECT_FALSE(session.status.has_value());
    EXPECT_FALSE(session.deleting);
}

TEST(objects, list_items_need_no_kind) {
    auto object = api_object(valid_spec);
    object.as_object().erase("apiVersion");
    object.as_object().erase("kind");
    const auto session = to_declared_session(object);
    EXPECT_TRUE(session.spec.has_value());
    EXPECT_TRUE(session.errors.empty());
}

TEST(objects, unknown_gpu_alias_names_the_fix) {
    const auto session = to_declared_session(api_object(
        R"({"image":"ghcr.io/example/app:1","gpu":{"types":["h900"]}})", "",
        R"({"phase":"Running","podId":"p1","podName":"psn-default-apps-user-42-0b5a7c1e"})"));
    EXPECT_FALSE(session.spec.has_value());
    ASSERT_EQ(session.errors.size(), 1u);
    EXPECT_NE(session.errors[0].find("spec.gpu.types[0]: \"h900\" is not a known GPU type"),
              std::string::npos)
        << session.errors[0];
    EXPECT_NE(session.errors[0].find("use an alias (h200, h100"), std::string::npos);
    // The metadata and the status still come through: the status names a pod.
    EXPECT_EQ(session.metadata.uid, "0b5a7c1e-7e3a-4d8e-9a51-1f2e3d4c5b6a");
    ASSERT_TRUE(session.status.has_value());
    EXPECT_EQ(session.status->pod_id, "p1");
}

TEST(objects, deletion_timestamp_means_deleting) {
    const auto session = to_declared_session(api_object(
        valid_spec,
        R"(,"deletionTimestamp":"2026-12-04T20:00:00Z","finalizers":["podsession.io/pod-cleanup"])",
        R"({"phase":"Running","podId":"p1"})"));
    EXPECT_TRUE(session.deleting);
    EXPECT_EQ(session.metadata.finalizers, std::vector<std::string>{"podsession.io/pod-cleanup"});
    ASSERT_TRUE(session.status.has_value());
    EXPECT_EQ(session.status->phase, crd::session_phase::running);
}

TEST(objects, status_patch_nulls_unset_fields) {
    crd::object_meta metadata;
    metadata.uid = "u-1";
    crd::pod_session_status status;
    status.phase = crd::session_phase::running;
    status.pod_id = "p1";
    status.observed_generation = 2;
    status.conditions.push_back({"Ready", "True", "PodRunning", "", std::nullopt});
    const auto patch = make_status_patch(metadata, status);

    EXPECT_EQ(patch.at("metadata"), json::parse(R"({"uid":"u-1"})"));
    const auto& fields = patch.at("status").as_object();
    EXPECT_EQ(fields.at("phase"), "Running");
    EXPECT_EQ(fields.at("podId"), "p1");
    EXPECT_EQ(fields.at("observedGeneration"), 2);
    EXPECT_EQ(fields.at("conditions").as_array().size(), 1u);
    for (const auto* cleared : {"reason", "podName", "endpoints", "costPerHour", "readyAt",
                                "expiresAt", "terminatedAt", "createRequestedAt", "tokenFile"}) {
        SCOPED_TRACE(cleared);
        ASSERT_TRUE(fields.contains(cleared));
        EXPECT_TRUE(fields.at(cleared).is_null());
    }
}

TEST(objects, finalizers_patch_is_guarded) {
    EXPECT_EQ(make_finalizers_patch("u-1", "17", {"other", "podsession.io/pod-cleanup"}),
              json::parse(R"({"metadata":{"uid":"u-1","resourceVersion":"17",)"
                          R"("finalizers":["other","podsession.io/pod-cleanup"]}})"));
    EXPECT_EQ(
        make_finalizers_patch("u-1", "18", {}),
        json::parse(R"({"metadata":{"uid":"u-1","resourceVersion":"18","finalizers":null}})"));
}

TEST(objects, reads_object_metadata) {
    const auto object = api_object(
        valid_spec, R"(,"deletionTimestamp":"2026-12-04T20:00:00Z","finalizers":["a","b"])");
    EXPECT_EQ(uid_of(object), "0b5a7c1e-7e3a-4d8e-9a51-1f2e3d4c5b6a");
    EXPECT_EQ(resource_version_of(object), "17");
    EXPECT_EQ(finalizers_of(object), (std::vector<std::string>{"a", "b"}));
    EXPECT_TRUE(is_being_deleted(object));
    EXPECT_FALSE(is_being_deleted(api_object(valid_spec)));
    EXPECT_EQ(uid_of(json::value{"text"}), "");
}

const auth::session_token sample_token{"AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde"};

TEST(objects, token_secret_is_owned_by_session) {
    crd::object_meta session;
    session.name = "user-42";
    session.namespace_name = "apps";
    session.uid = "u-1";
    const auto secret = make_token_secret(session, sample_token);

    EXPECT_EQ(secret.at("metadata").at("name"), "user-42-podsession");
    EXPECT_EQ(secret.at("metadata").at("namespace"), "apps");
    EXPECT_EQ(secret.at("type"), "Opaque");
    const auto& owner = secret.at("metadata").at("ownerReferences").at(0);
    EXPECT_EQ(owner, json::parse(R"({"apiVersion":"podsession.io/v1alpha1","kind":"PodSession",)"
                                 R"("name":"user-42","uid":"u-1","controller":true,)"
                                 R"("blockOwnerDeletion":true})"));
    EXPECT_EQ(decode_base64(secret.at("data").at("token").as_string()), sample_token.reveal());

    const auto session_owner = owning_session(secret);
    ASSERT_TRUE(session_owner.has_value());
    EXPECT_EQ(session_owner->name, "user-42");
    EXPECT_EQ(session_owner->uid, "u-1");
    const auto token = read_token(secret);
    ASSERT_TRUE(token.has_value());
    EXPECT_EQ(token->reveal(), sample_token.reveal());
}

TEST(objects, rejects_foreign_or_broken_secrets) {
    const auto user_secret = json::parse(
        R"({"metadata":{"name":"user-42-podsession","ownerReferences":[{"apiVersion":"apps/v1",)"
        R"("kind":"Deployment","uid":"d-1"}]},"data":{"token":"YWJj"}})");
    EXPECT_FALSE(owning_session(user_secret).has_value());
    EXPECT_FALSE(read_token(user_secret).has_value());  // "abc" is no token

    EXPECT_FALSE(read_token(json::parse(R"({"data":{}})")).has_value());
    EXPECT_FALSE(read_token(json::parse(R"({"data":{"token":"!!"}})")).has_value());
    const auto wrong_alphabet = encode_base64(std::string(43, '+'));
    EXPECT_FALSE(read_token(json::value{{"data", {{"token", wrong_alphabet}}}}).has_value());
}

TEST(objects, event_names_session_and_cuts_long_messages) {
    event_record event;
    event.name = "user-42.18a2b";
    event.involved.name = "user-42";
    event.involved.namespace_name = "apps";
    event.involved.uid = "u-1";
    event.involved.resource_version = "17";
    event.type = reconcile::note_type::warning;
    event.reason = "InvalidSpec";
    event.message = std::string(1100, 'x') + "\xc3\xa9";
    event.count = 3;
    event.first_seen = crd::parse_rfc3339("2026-12-04T19:00:00Z").value();
    event.last_seen = crd::parse_rfc3339("2026-12-04T19:05:00.250Z").value();
    event.instance = "ctl-a";
    const auto encoded = make_event(event);

    EXPECT_EQ(encoded.at("apiVersion"), "v1");
    EXPECT_EQ(encoded.at("kind"), "Event");
    EXPECT_EQ(encoded.at("metadata"),
              json::parse(R"({"name":"user-42.18a2b","namespace":"apps"})"));
    EXPECT_EQ(encoded.at("involvedObject"),
              json::parse(R"({"apiVersion":"podsession.io/v1alpha1","kind":"PodSession",)"
                          R"("namespace":"apps","name":"user-42","uid":"u-1",)"
                          R"("resourceVersion":"17"})"));
    EXPECT_EQ(encoded.at("type"), "Warning");
    EXPECT_EQ(encoded.at("reason"), "InvalidSpec");
    EXPECT_EQ(encoded.at("message").as_string().size(), max_event_message);
    EXPECT_EQ(encoded.at("count"), 3);
    EXPECT_EQ(encoded.at("firstTimestamp"), "2026-12-04T19:00:00Z");
    EXPECT_EQ(encoded.at("lastTimestamp"), "2026-12-04T19:05:00Z");
    EXPECT_EQ(encoded.at("source"), json::parse(R"({"component":"podsession-controller"})"));
    EXPECT_EQ(encoded.at("reportingInstance"), "ctl-a");
    EXPECT_FALSE(encoded.as_object().contains("eventTime"));

    EXPECT_EQ(make_event_repeat_patch(4, event.last_seen),
              json::parse(R"({"count":4,"lastTimestamp":"2026-12-04T19:05:00Z"})"));
}

TEST(objects, message_cut_keeps_utf8_whole) {
    event_record event;
    event.message = std::string(max_event_message - 1, 'x') + "\xc3\xa9";
    const auto message = make_event(event).at("message").as_string();
    EXPECT_EQ(message.size(), max_event_message - 1);
}

TEST(objects, paths_and_query_values) {
    EXPECT_EQ(podsessions_path(""), "/apis/podsession.io/v1alpha1/podsessions");
    EXPECT_EQ(podsessions_path("apps"), "/apis/podsession.io/v1alpha1/namespaces/apps/podsessions");
    EXPECT_EQ(podsession_path("apps", "s1", "status"),
              "/apis/podsession.io/v1alpha1/namespaces/apps/podsessions/s1/status");
    EXPECT_EQ(secret_path("apps", "s1-podsession"),
              "/api/v1/namespaces/apps/secrets/s1-podsession");
    EXPECT_EQ(event_path("apps"), "/api/v1/namespaces/apps/events");
    EXPECT_EQ(token_secret_name("s1"), "s1-podsession");
    EXPECT_EQ(encode_query_value("eyJ2Ijoi+/=&x"), "eyJ2Ijoi%2B%2F%3D%26x");
}

}  // namespace
}  // namespace podsession::controller::kubernetes
