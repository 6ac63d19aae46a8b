"""The fake API server's HTTP semantics, checked with raw requests as a client library sees them."""

import base64
import http.client
import os
import signal
import tempfile
import threading
import time
import unittest

from fakekube import FakeApiServer, make_certificates, podsession, podsessions, secrets, wait_until


class FakeServerTest(unittest.TestCase):
    server_options = {}

    def setUp(self):
        self.server = FakeApiServer(**self.server_options)
        self.addCleanup(self.server.stop)

    def create_session(self, name="s1", namespace="default", **spec):
        response = self.server.create(podsessions(namespace), podsession(name, namespace, **spec))
        self.assertEqual(response.status, 201, response)
        return response.json

    def get_session(self, name="s1", namespace="default"):
        return self.server.get(podsessions(namespace, name)).json


class ObjectLifecycleTest(FakeServerTest):
    def test_create_sets_server_fields(self):
        created = self.create_session()
        metadata = created["metadata"]
        self.assertRegex(metadata["uid"], r"^[0-9a-f-]{36}$")
        self.assertRegex(metadata["creationTimestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(metadata["generation"], 1)
        self.assertIsInstance(metadata["resourceVersion"], str)
        self.assertNotIn("status", created)

    def test_resource_version_increases_across_kinds(self):
        first = int(self.create_session("a")["metadata"]["resourceVersion"])
        secret = self.server.create(secrets(), {"metadata": {"name": "x"}, "stringData": {"k": "v"}})
        second = int(self.create_session("b")["metadata"]["resourceVersion"])
        self.assertLess(first, int(secret.json["metadata"]["resourceVersion"]))
        self.assertLess(int(secret.json["metadata"]["resourceVersion"]), second)

    def test_defaults_applied_from_schema(self):
        spec = self.create_session(ports=[{"port": 8000}])["spec"]
        self.assertEqual(spec["cloud"], "SECURE")
        self.assertEqual(spec["gpu"]["count"], 1)
        self.assertEqual(spec["ports"][0]["protocol"], "http")
        self.assertEqual(spec["readyTimeoutSeconds"], 1200)

    def test_unknown_fields_pruned_with_warning(self):
        body = podsession("s1")
        body["spec"]["bogus"] = 1
        body["spec"]["gpu"]["extra"] = "x"
        response = self.server.create(podsessions(), body)
        self.assertEqual(response.status, 201)
        self.assertNotIn("bogus", response.json["spec"])
        self.assertNotIn("extra", response.json["spec"]["gpu"])
        self.assertIn('unknown field \\"spec.bogus\\"', response.headers.get("Warning", ""))

    def test_unknown_fields_rejected_when_strict(self):
        body = podsession("s1")
        body["spec"]["bogus"] = 1
        response = self.server.create(podsessions(), body, query={"fieldValidation": "Strict"})
        self.assertEqual(response.status, 400)
        self.assertEqual(response.json["reason"], "BadRequest")
        self.assertIn('strict decoding error: unknown field "spec.bogus"', response.json["message"])

    def test_create_existing_is_already_exists(self):
        self.create_session()
        response = self.server.create(podsessions(), podsession("s1"))
        self.assertEqual(response.status, 409)
        self.assertEqual(response.json, {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": 'podsessions.podsession.io "s1" already exists', "reason": "AlreadyExists",
            "details": {"name": "s1", "group": "podsession.io", "kind": "podsessions"}, "code": 409})

    def test_get_missing_is_not_found(self):
        response = self.server.get(podsessions(name="missing"))
        self.assertEqual(response.status, 404)
        self.assertEqual(response.json["reason"], "NotFound")
        self.assertEqual(response.json["message"], 'podsessions.podsession.io "missing" not found')
        self.assertEqual(response.json["details"],
                         {"name": "missing", "group": "podsession.io", "kind": "podsessions"})

    def test_create_in_missing_namespace_is_not_found(self):
        response = self.server.create(podsessions("nowhere"), podsession("s1", "nowhere"))
        self.assertEqual(response.status, 404)
        self.assertEqual(response.json["message"], 'namespaces "nowhere" not found')

    def test_namespace_mismatch_is_bad_request(self):
        response = self.server.create(podsessions("default"), podsession("s1", "kube-system"))
        self.assertEqual(response.status, 400)
        self.assertIn("does not match the namespace", response.json["message"])

    def test_generate_name(self):
        body = podsession("")
        body["metadata"] = {"generateName": "user-"}
        response = self.server.create(podsessions(), body)
        self.assertEqual(response.status, 201)
        self.assertRegex(response.json["metadata"]["name"], r"^user-[a-z0-9]{5}$")

    def test_dry_run_stores_nothing(self):
        response = self.server.create(podsessions(), podsession("s1"), query={"dryRun": "All"})
        self.assertEqual(response.status, 201)
        self.assertEqual(self.server.get(podsessions(name="s1")).status, 404)


class UpdateTest(FakeServerTest):
    def test_put_with_stale_resource_version_conflicts(self):
        created = self.create_session()
        self.server.merge_patch(podsessions(name="s1"), {"spec": {"idleTTLSeconds": 60}})
        created["spec"]["idleTTLSeconds"] = 90
        response = self.server.request("PUT", podsessions(name="s1"), created)
        self.assertEqual(response.status, 409)
        self.assertEqual(response.json["reason"], "Conflict")
        self.assertEqual(response.json["message"],
                         'Operation cannot be fulfilled on podsessions.podsession.io "s1": the object '
                         'has been modified; please apply your changes to the latest version and try again')

    def test_put_with_current_resource_version_succeeds(self):
        created = self.create_session()
        created["spec"]["idleTTLSeconds"] = 90
        response = self.server.request("PUT", podsessions(name="s1"), created)
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.json["spec"]["idleTTLSeconds"], 90)
        self.assertGreater(int(response.json["metadata"]["resourceVersion"]),
                           int(created["metadata"]["resourceVersion"]))

    def test_put_missing_object_is_not_found(self):
        response = self.server.request("PUT", podsessions(name="s1"), podsession("s1"))
        self.assertEqual(response.status, 404)

    def test_generation_bumps_only_on_spec_change(self):
        self.create_session()
        annotated = self.server.merge_patch(podsessions(name="s1"), {"metadata": {"annotations": {
            "podsession.io/last-touched": "2026-12-04T19:37:02Z"}}}).json
        self.assertEqual(annotated["metadata"]["generation"], 1)
        status = self.server.merge_patch(podsessions(name="s1", subresource="status"),
                                         {"status": {"phase": "Running"}}).json
        self.assertEqual(status["metadata"]["generation"], 1)
        changed = self.server.merge_patch(podsessions(name="s1"), {"spec": {"idleTTLSeconds": 5}}).json
        self.assertEqual(changed["metadata"]["generation"], 2)

    def test_no_op_patch_keeps_resource_version(self):
        created = self.create_session()
        response = self.server.merge_patch(podsessions(name="s1"), {"spec": {"image": "ghcr.io/example/app:1"}})
        self.assertEqual(response.json["metadata"]["resourceVersion"], created["metadata"]["resourceVersion"])

    def test_patch_with_resource_version_is_a_precondition(self):
        self.create_session()
        response = self.server.merge_patch(podsessions(name="s1"), {
            "metadata": {"resourceVersion": "1"}, "spec": {"idleTTLSeconds": 5}})
        self.assertEqual(response.status, 409)

    def test_main_resource_write_ignores_status(self):
        self.create_session()
        response = self.server.merge_patch(podsessions(name="s1"), {"status": {"phase": "Running"}})
        self.assertEqual(response.status, 200)
        self.assertNotIn("status", response.json)

    def test_status_write_ignores_everything_but_status(self):
        self.create_session()
        response = self.server.merge_patch(podsessions(name="s1", subresource="status"), {
            "metadata": {"labels": {"a": "b"}}, "spec": {"idleTTLSeconds": 5},
            "status": {"phase": "Running"}})
        self.assertEqual(response.status, 200)
        self.assertEqual(response.json["status"], {"phase": "Running"})
        self.assertNotIn("labels", response.json["metadata"])
        self.assertNotIn("idleTTLSeconds", response.json["spec"])

    def test_status_put_replaces_status(self):
        created = self.create_session()
        created["status"] = {"phase": "Pending"}
        response = self.server.request("PUT", podsessions(name="s1", subresource="status"), created)
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.json["status"], {"phase": "Pending"})

    def test_json_patch_operations(self):
        self.create_session(ports=[{"port": 8000}])
        response = self.server.json_patch(podsessions(name="s1"), [
            {"op": "test", "path": "/spec/image", "value": "ghcr.io/example/app:1"},
            {"op": "add", "path": "/spec/ports/-", "value": {"port": 9000, "protocol": "tcp"}},
            {"op": "replace", "path": "/spec/gpu/count", "value": 2},
            {"op": "remove", "path": "/spec/cloud"},
        ])
        self.assertEqual(response.status, 200, response)
        self.assertEqual([p["port"] for p in response.json["spec"]["ports"]], [8000, 9000])
        self.assertEqual(response.json["spec"]["gpu"]["count"], 2)
        self.assertEqual(response.json["spec"]["cloud"], "SECURE")

    def test_failed_json_patch_test_is_422(self):
        self.create_session()
        response = self.server.json_patch(podsessions(name="s1"), [
            {"op": "test", "path": "/spec/image", "value": "other"}])
        self.assertEqual(response.status, 422)
        self.assertEqual(response.json["reason"], "Invalid")

    def test_strategic_merge_patch_on_custom_resource_is_415(self):
        self.create_session()
        response = self.server.request("PATCH", podsessions(name="s1"), {"spec": {"idleTTLSeconds": 5}},
                                       content_type="application/strategic-merge-patch+json")
        self.assertEqual(response.status, 415)
        self.assertEqual(response.json["reason"], "UnsupportedMediaType")
        self.assertIn("application/merge-patch+json", response.json["message"])

    def test_strategic_merge_patch_on_secret_merges_finalizers(self):
        self.server.create(secrets(), {"metadata": {"name": "x", "finalizers": ["a.io/one"]}})
        response = self.server.request("PATCH", secrets(name="x"), {
            "metadata": {"finalizers": ["a.io/two"]}, "stringData": {"token": "t"}},
            content_type="application/strategic-merge-patch+json")
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.json["metadata"]["finalizers"], ["a.io/one", "a.io/two"])
        self.assertEqual(base64.b64decode(response.json["data"]["token"]), b"t")

    def test_adding_finalizer_to_deleting_object_is_forbidden(self):
        self.create_session()
        self.server.merge_patch(podsessions(name="s1"), {"metadata": {"finalizers": ["a.io/x"]}})
        self.server.request("DELETE", podsessions(name="s1"))
        response = self.server.merge_patch(podsessions(name="s1"),
                                           {"metadata": {"finalizers": ["a.io/x", "a.io/y"]}})
        self.assertEqual(response.status, 422)
        self.assertEqual(response.json["details"]["causes"][0]["reason"], "FieldValueForbidden")


class ValidationTest(FakeServerTest):
    def invalid(self, body):
        response = self.server.create(podsessions(), body)
        self.assertEqual(response.status, 422, response)
        self.assertEqual(response.json["reason"], "Invalid")
        self.assertEqual(response.json["details"]["kind"], "PodSession")
        self.assertEqual(response.json["details"]["group"], "podsession.io")
        return response.json

    def test_port_out_of_range(self):
        status = self.invalid(podsession("s1", ports=[{"port": 70000}]))
        self.assertEqual(status["message"],
                         'PodSession.podsession.io "s1" is invalid: spec.ports[0].port: Invalid value: '
                         '70000: spec.ports[0].port in body should be less than or equal to 65535')
        self.assertEqual(status["details"]["causes"], [{
            "reason": "FieldValueInvalid", "field": "spec.ports[0].port",
            "message": "Invalid value: 70000: spec.ports[0].port in body should be less than or equal to 65535"}])

    def test_missing_image_is_required(self):
        body = podsession("s1")
        del body["spec"]["image"]
        status = self.invalid(body)
        self.assertEqual(status["details"]["causes"],
                         [{"reason": "FieldValueRequired", "message": "Required value", "field": "spec.image"}])

    def test_rule_table(self):
        cases = [
            ({"cloud": "MOON"}, "spec.cloud", "FieldValueNotSupported",
             'Unsupported value: "MOON": supported values: "SECURE", "COMMUNITY"'),
            ({"idleTTLSeconds": "ten"}, "spec.idleTTLSeconds", "FieldValueTypeInvalid",
             'Invalid value: "string": spec.idleTTLSeconds in body must be of type integer: "string"'),
            ({"idleTTLSeconds": 0}, "spec.idleTTLSeconds", "FieldValueInvalid",
             "Invalid value: 0: spec.idleTTLSeconds in body should be greater than or equal to 1"),
            ({"image": ""}, "spec.image", "FieldValueInvalid",
             'Invalid value: "": spec.image in body should be at least 1 chars long'),
            ({"image": "x" * 513}, "spec.image", "FieldValueTooLong", "Too long: may not be longer than 512"),
            ({"gpu": {"types": []}}, "spec.gpu.types", "FieldValueInvalid",
             "Invalid value: 0: spec.gpu.types in body should have at least 1 items"),
            ({"gpu": {"types": ["h100"] * 17}}, "spec.gpu.types", "FieldValueTooMany",
             "Too many: 17: must have at most 16 items"),
            ({"minCudaVersion": "twelve"}, "spec.minCudaVersion", "FieldValueInvalid",
             "Invalid value: \"twelve\": spec.minCudaVersion in body should match '^[0-9]+\\.[0-9]+$'"),
            ({"ports": [{"port": 8000}, {"port": 8000, "protocol": "tcp"}]}, "spec.ports[1]",
             "FieldValueDuplicate", 'Duplicate value: map[string]interface {}{"port":8000}'),
            ({"env": [{"name": "A"}, {"name": "A"}]}, "spec.env[1]", "FieldValueDuplicate",
             'Duplicate value: map[string]interface {}{"name":"A"}'),
        ]
        for spec, field, reason, message in cases:
            with self.subTest(field=field, reason=reason):
                status = self.invalid(podsession("s1", **spec))
                self.assertIn({"reason": reason, "message": message, "field": field},
                              status["details"]["causes"])

    def test_several_errors_listed_in_brackets(self):
        body = podsession("s1", cloud="MOON", ports=[{"port": 0}])
        del body["spec"]["image"]
        status = self.invalid(body)
        self.assertEqual(len(status["details"]["causes"]), 3)
        self.assertRegex(status["message"], r'is invalid: \[.*, .*, .*\]$')

    def test_status_validated_on_status_write(self):
        self.create_session()
        response = self.server.merge_patch(podsessions(name="s1", subresource="status"),
                                           {"status": {"phase": "Sleeping"}})
        self.assertEqual(response.status, 422)
        self.assertEqual(response.json["details"]["causes"][0]["field"], "status.phase")

    def test_invalid_name(self):
        status = self.invalid(podsession("Not_A_Name"))
        self.assertEqual(status["details"]["causes"][0]["field"], "metadata.name")


class DeletionTest(FakeServerTest):
    def test_delete_without_finalizers_removes(self):
        created = self.create_session()
        response = self.server.request("DELETE", podsessions(name="s1"))
        self.assertEqual(response.status, 200)
        self.assertEqual(response.json["status"], "Success")
        self.assertEqual(response.json["details"]["uid"], created["metadata"]["uid"])
        self.assertEqual(self.server.get(podsessions(name="s1")).status, 404)

    def test_delete_with_finalizer_marks_deleting(self):
        self.create_session()
        self.server.merge_patch(podsessions(name="s1"),
                                {"metadata": {"finalizers": ["podsession.io/pod-cleanup"]}})
        response = self.server.request("DELETE", podsessions(name="s1"))
        self.assertEqual(response.status, 200)
        metadata = response.json["metadata"]
        self.assertIn("deletionTimestamp", metadata)
        self.assertEqual(metadata["deletionGracePeriodSeconds"], 0)
        self.assertEqual(metadata["generation"], 2)
        self.assertEqual(self.server.get(podsessions(name="s1")).status, 200)

        removed = self.server.merge_patch(podsessions(name="s1"), {"metadata": {"finalizers": None}})
        self.assertEqual(removed.status, 200)
        self.assertEqual(removed.json["kind"], "Status")
        self.assertEqual(self.server.get(podsessions(name="s1")).status, 404)

    def test_delete_precondition_mismatch_conflicts(self):
        self.create_session()
        response = self.server.request("DELETE", podsessions(name="s1"), {
            "kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": "other"}})
        self.assertEqual(response.status, 409)
        self.assertIn("Precondition failed: UID in precondition: other", response.json["message"])

    def owned_secret(self, owner, name="s1-podsession", **reference):
        body = {"metadata": {"name": name, "ownerReferences": [{
            "apiVersion": "podsession.io/v1alpha1", "kind": "PodSession", "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], **reference}]}, "stringData": {"token": "t"}}
        response = self.server.create(secrets(), body)
        self.assertEqual(response.status, 201, response)
        return response.json

    def test_owned_secret_collected_after_owner_deleted(self):
        owner = self.create_session()
        self.owned_secret(owner)
        self.server.request("DELETE", podsessions(name="s1"))
        wait_until(lambda: self.server.get(secrets(name="s1-podsession")).status == 404,
                   message="the garbage collector to delete the owned Secret")

    def test_owned_secret_kept_while_owner_has_finalizer(self):
        owner = self.create_session()
        self.owned_secret(owner)
        self.server.merge_patch(podsessions(name="s1"), {"metadata": {"finalizers": ["a.io/x"]}})
        self.server.request("DELETE", podsessions(name="s1"))
        self.server.request("POST", "/_fake/gc")
        self.assertEqual(self.server.get(secrets(name="s1-podsession")).status, 200)

    def test_secret_of_recreated_owner_is_collected(self):
        owner = self.create_session()
        self.owned_secret(owner)
        self.server.request("DELETE", podsessions(name="s1"))
        self.create_session()
        wait_until(lambda: self.server.get(secrets(name="s1-podsession")).status == 404,
                   message="a Secret owned by an earlier uid to be collected")

    def test_orphan_policy_keeps_dependents(self):
        owner = self.create_session()
        self.owned_secret(owner)
        self.server.request("DELETE", podsessions(name="s1"), query={"propagationPolicy": "Orphan"})
        wait_until(lambda: self.server.get(podsessions(name="s1")).status == 404,
                   message="the orphan finalizer to finish")
        secret = self.server.get(secrets(name="s1-podsession")).json
        self.assertNotIn("ownerReferences", secret["metadata"])

    def test_foreground_policy_deletes_dependents_first(self):
        owner = self.create_session()
        self.owned_secret(owner, blockOwnerDeletion=True)
        self.server.request("DELETE", podsessions(name="s1"), query={"propagationPolicy": "Foreground"})
        wait_until(lambda: self.server.get(podsessions(name="s1")).status == 404,
                   message="foreground deletion to finish")
        self.assertEqual(self.server.get(secrets(name="s1-podsession")).status, 404)

    def test_paused_collector_keeps_dependents(self):
        owner = self.create_session()
        self.owned_secret(owner)
        self.server.faults(gc=False)
        self.server.request("DELETE", podsessions(name="s1"))
        self.assertEqual(self.server.get(secrets(name="s1-podsession")).status, 200)
        self.server.faults(gc=True)
        wait_until(lambda: self.server.get(secrets(name="s1-podsession")).status == 404,
                   message="the resumed collector to delete the Secret")

    def test_namespace_deletion_removes_contents(self):
        self.server.create("/api/v1/namespaces", {"metadata": {"name": "apps"}})
        self.create_session(namespace="apps")
        self.server.request("DELETE", "/api/v1/namespaces/apps")
        refused = self.server.create(podsessions("apps"), podsession("s2", "apps"))
        if refused.status != 404:
            self.assertEqual(refused.status, 403)
            self.assertIn("because it is being terminated", refused.json["message"])
        wait_until(lambda: self.server.get("/api/v1/namespaces/apps").status == 404,
                   message="the namespace to be finalized")
        self.assertEqual(self.server.get(podsessions("apps", "s1")).status, 404)

    def test_delete_collection_by_label(self):
        for name, team in (("a", "x"), ("b", "x"), ("c", "y")):
            body = podsession(name)
            body["metadata"]["labels"] = {"team": team}
            self.server.create(podsessions(), body)
        response = self.server.request("DELETE", podsessions(), query={"labelSelector": "team=x"})
        self.assertEqual(response.status, 200)
        remaining = self.server.get(podsessions()).json["items"]
        self.assertEqual([i["metadata"]["name"] for i in remaining], ["c"])


class ListTest(FakeServerTest):
    def setUp(self):
        super().setUp()
        for name, team in (("a", "x"), ("b", "y"), ("c", "x")):
            body = podsession(name)
            body["metadata"]["labels"] = {"team": team}
            self.server.create(podsessions(), body)

    def names(self, response):
        return [item["metadata"]["name"] for item in response.json["items"]]

    def test_list_shape(self):
        response = self.server.get(podsessions())
        self.assertEqual(response.json["kind"], "PodSessionList")
        self.assertEqual(response.json["apiVersion"], "podsession.io/v1alpha1")
        self.assertEqual(response.json["metadata"]["resourceVersion"], self.server.state()["resourceVersion"])
        self.assertEqual(self.names(response), ["a", "b", "c"])

    def test_label_selectors(self):
        cases = {"team=x": ["a", "c"], "team!=x": ["b"], "team in (y)": ["b"],
                 "team notin (x,y)": [], "team": ["a", "b", "c"], "!team": []}
        for selector, expected in cases.items():
            with self.subTest(selector=selector):
                self.assertEqual(self.names(self.server.get(podsessions(), query={"labelSelector": selector})),
                                 expected)

    def test_field_selector_by_name(self):
        response = self.server.get(podsessions(), query={"fieldSelector": "metadata.name=b"})
        self.assertEqual(self.names(response), ["b"])

    def test_unsupported_field_selector_is_bad_request(self):
        response = self.server.get(podsessions(), query={"fieldSelector": "spec.image=x"})
        self.assertEqual(response.status, 400)
        self.assertEqual(response.json["message"], "field label not supported: spec.image")

    def test_pagination(self):
        first = self.server.get(podsessions(), query={"limit": 2})
        self.assertEqual(self.names(first), ["a", "b"])
        self.assertEqual(first.json["metadata"]["remainingItemCount"], 1)
        second = self.server.get(podsessions(), query={"limit": 2, "continue": first.json["metadata"]["continue"]})
        self.assertEqual(self.names(second), ["c"])
        self.assertNotIn("continue", second.json["metadata"])

    def test_all_namespaces(self):
        self.server.create("/api/v1/namespaces", {"metadata": {"name": "apps"}})
        self.server.create(podsessions("apps"), podsession("d", "apps"))
        response = self.server.get("/apis/podsession.io/v1alpha1/podsessions")
        self.assertEqual(len(response.json["items"]), 4)

    def test_table_has_printer_columns(self):
        response = self.server.get(podsessions(), headers={
            "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"})
        self.assertEqual(response.json["kind"], "Table")
        self.assertEqual([c["name"] for c in response.json["columnDefinitions"]],
                         ["Name", "Phase", "GPU", "URL", "Idle-TTL", "Age"])
        self.assertEqual(response.json["rows"][0]["object"]["kind"], "PartialObjectMetadata")

    def test_built_in_list_items_have_no_kind(self):
        self.server.create(secrets(), {"metadata": {"name": "x"}})
        items = self.server.get(secrets()).json["items"]
        self.assertNotIn("kind", items[0])

    def test_protobuf_only_accept_is_406(self):
        response = self.server.get(podsessions(), headers={"Accept": "application/vnd.kubernetes.protobuf"})
        self.assertEqual(response.status, 406)


class WatchTest(FakeServerTest):
    def open_watch(self, **query):
        stream = self.server.watch(podsessions(), query)
        self.addCleanup(stream.close)
        self.assertEqual(stream.status, 200)
        return stream

    def test_events_in_order(self):
        start = self.server.state()["resourceVersion"]
        stream = self.open_watch(resourceVersion=start)
        self.create_session()
        self.server.merge_patch(podsessions(name="s1"), {"spec": {"idleTTLSeconds": 5}})
        self.server.request("DELETE", podsessions(name="s1"))
        events = stream.events_until(lambda e: e["type"] == "DELETED")
        self.assertEqual([e["type"] for e in events], ["ADDED", "MODIFIED", "DELETED"])
        versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
        self.assertEqual(versions, sorted(versions))

    def test_watch_without_version_starts_with_current_objects(self):
        self.create_session("a")
        stream = self.open_watch()
        event = stream.next_event()
        self.assertEqual(event["type"], "ADDED")
        self.assertEqual(event["object"]["metadata"]["name"], "a")

    def test_resume_replays_history(self):
        created = self.create_session("a")
        self.create_session("b")
        stream = self.open_watch(resourceVersion=created["metadata"]["resourceVersion"])
        event = stream.next_event()
        self.assertEqual(event["object"]["metadata"]["name"], "b")

    def test_label_change_turns_into_deleted(self):
        body = podsession("a")
        body["metadata"]["labels"] = {"team": "x"}
        self.server.create(podsessions(), body)
        stream = self.open_watch(resourceVersion=self.server.state()["resourceVersion"],
                                 labelSelector="team=x")
        self.server.merge_patch(podsessions(name="a"), {"metadata": {"labels": {"team": "y"}}})
        self.assertEqual(stream.next_event()["type"], "DELETED")

    def test_compacted_version_is_gone_event(self):
        created = self.create_session("a")
        self.create_session("b")
        self.server.faults(compact=True)
        stream = self.open_watch(resourceVersion=created["metadata"]["resourceVersion"])
        event = stream.next_event()
        self.assertEqual(event["type"], "ERROR")
        self.assertEqual(event["object"]["code"], 410)
        self.assertEqual(event["object"]["reason"], "Expired")
        self.assertTrue(event["object"]["message"].startswith("too old resource version"))
        self.assertIsNone(stream.next_event())

    def test_history_window_expires_old_versions(self):
        server = FakeApiServer(extra_args=["--watch-history", "3"])
        self.addCleanup(server.stop)
        first = server.create(podsessions(), podsession("a")).json
        for name in ("b", "c", "d", "e"):
            server.create(podsessions(), podsession(name))
        stream = server.watch(podsessions(), {"resourceVersion": first["metadata"]["resourceVersion"]})
        self.addCleanup(stream.close)
        self.assertEqual(stream.next_event()["object"]["code"], 410)

    def test_gone_next_fault(self):
        self.server.faults(goneNext={"verb": "watch", "resource": "podsessions"})
        stream = self.open_watch(resourceVersion="1")
        self.assertEqual(stream.next_event()["object"]["code"], 410)
        again = self.open_watch(resourceVersion=self.server.state()["resourceVersion"])
        self.server.faults(sendBookmarks=True)
        self.assertEqual(again.status, 200)

    def test_gone_next_on_list(self):
        self.server.faults(goneNext={"verb": "list", "count": 1})
        self.assertEqual(self.server.get(podsessions()).status, 410)
        self.assertEqual(self.server.get(podsessions()).status, 200)

    def test_bookmarks_periodic(self):
        self.server.faults(bookmarkIntervalSeconds=0.1)
        self.create_session()
        stream = self.open_watch(resourceVersion=self.server.state()["resourceVersion"],
                                 allowWatchBookmarks="true")
        event = stream.events_until(lambda e: e["type"] == "BOOKMARK")[-1]
        self.assertEqual(event["object"]["kind"], "PodSession")
        self.assertEqual(event["object"]["metadata"]["resourceVersion"], self.server.state()["resourceVersion"])

    def test_no_bookmarks_unless_allowed(self):
        self.server.faults(bookmarkIntervalSeconds=0.05)
        stream = self.open_watch(resourceVersion=self.server.state()["resourceVersion"], timeoutSeconds="1")
        self.assertIsNone(stream.next_event(timeout=5))

    def test_timeout_ends_stream(self):
        stream = self.open_watch(resourceVersion=self.server.state()["resourceVersion"], timeoutSeconds="1")
        self.assertIsNone(stream.next_event(timeout=5))

    def test_drop_watches_fault(self):
        stream = self.open_watch(resourceVersion=self.server.state()["resourceVersion"])
        self.server.wait_for_watches("podsessions")
        self.server.faults(dropWatches=True)
        with self.assertRaises(Exception):
            while stream.next_event(timeout=5) is not None:
                pass
            raise ConnectionError("stream ended")
        wait_until(lambda: self.server.state()["watches"].get("podsessions", 0) == 0,
                   message="the dropped watch to be forgotten")

    def test_streaming_list(self):
        self.create_session("a")
        self.create_session("b")
        stream = self.open_watch(sendInitialEvents="true", resourceVersionMatch="NotOlderThan",
                                 allowWatchBookmarks="true")
        events = stream.events_until(lambda e: e["type"] == "BOOKMARK")
        self.assertEqual([e["type"] for e in events], ["ADDED", "ADDED", "BOOKMARK"])
        self.assertEqual(events[-1]["object"]["metadata"]["annotations"],
                         {"k8s.io/initial-events-end": "true"})
        self.create_session("c")
        self.assertEqual(stream.next_event()["object"]["metadata"]["name"], "c")

    def test_streaming_list_rejected_when_feature_off(self):
        self.server.faults(watchList=False)
        response = self.server.get(podsessions(), query={
            "watch": "1", "sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan",
            "allowWatchBookmarks": "true"})
        self.assertEqual(response.status, 422)
        self.assertEqual(response.json["details"]["kind"], "ListOptions")
        self.assertEqual(response.json["details"]["causes"][0]["field"], "sendInitialEvents")

    def test_streaming_list_without_bookmarks_is_422(self):
        response = self.server.get(podsessions(), query={
            "watch": "1", "sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan"})
        self.assertEqual(response.status, 422)

    def test_table_watch_events(self):
        stream = self.server.watch(podsessions(), {"resourceVersion": self.server.state()["resourceVersion"]},
                                   headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
        self.addCleanup(stream.close)
        self.create_session()
        event = stream.next_event()
        self.assertEqual(event["object"]["kind"], "Table")
        self.assertEqual(event["object"]["rows"][0]["cells"][0], "s1")


class FaultTest(FakeServerTest):
    def test_fail_writes_count(self):
        self.create_session()
        path = podsessions(name="s1")
        self.server.faults(failWrites={"path": path, "code": 409, "count": 2})
        codes = [self.server.merge_patch(path, {"spec": {"idleTTLSeconds": 5}}).status for _ in range(3)]
        self.assertEqual(codes, [409, 409, 200])

    def test_fail_writes_500_status(self):
        self.server.faults(failWrites={"pathPrefix": podsessions(), "code": 500})
        response = self.server.create(podsessions(), podsession("s1"))
        self.assertEqual(response.status, 500)
        self.assertEqual(response.json["reason"], "InternalError")
        self.assertEqual(self.server.create(podsessions(), podsession("s1")).status, 201)

    def test_fail_writes_429_has_retry_after(self):
        self.server.faults(failWrites={"pathPrefix": "/", "method": "POST", "code": 429})
        response = self.server.create(podsessions(), podsession("s1"))
        self.assertEqual(response.status, 429)
        self.assertEqual(response.headers.get("Retry-After"), "1")

    def test_delay(self):
        self.server.faults(delayMs=300)
        started = time.monotonic()
        self.server.get(podsessions())
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        self.server.request("DELETE", "/_fake/faults")
        self.assertEqual(self.server.get("/_fake/faults").json["delayMs"], 0)

    def test_unknown_fault_rejected(self):
        response = self.server.request("POST", "/_fake/faults", {"explode": True})
        self.assertEqual(response.status, 400)

    def test_request_log(self):
        self.create_session()
        self.server.merge_patch(podsessions(name="s1"), {"spec": {"idleTTLSeconds": 5}},
                                query={"fieldManager": "podsession-controller"})
        log = self.server.requests()
        patch = [e for e in log if e["method"] == "PATCH"][0]
        self.assertEqual(patch["path"], podsessions(name="s1"))
        self.assertEqual(patch["params"], {"fieldManager": "podsession-controller"})
        self.assertEqual(patch["contentType"], "application/merge-patch+json")
        self.assertEqual(patch["code"], 200)
        self.assertNotIn("body", patch)
        self.assertEqual(self.server.requests(since=log[-1]["seq"]), [])


class BuiltInKindsTest(FakeServerTest):
    def test_secret_string_data_and_type(self):
        response = self.server.create(secrets(), {"metadata": {"name": "x"}, "stringData": {"token": "abc"}})
        self.assertEqual(response.json["type"], "Opaque")
        self.assertEqual(response.json["data"], {"token": base64.b64encode(b"abc").decode()})
        self.assertNotIn("stringData", response.json)
        self.assertNotIn("generation", response.json["metadata"])

    def test_secret_bad_base64_is_bad_request(self):
        response = self.server.create(secrets(), {"metadata": {"name": "x"}, "data": {"token": "!!"}})
        self.assertEqual(response.status, 400)

    def test_lease_round_trip_and_conflict(self):
        path = "/apis/coordination.k8s.io/v1/namespaces/default/leases"
        lease = {"metadata": {"name": "podsession-controller"}, "spec": {
            "holderIdentity": "a", "leaseDurationSeconds": 15,
            "renewTime": "2026-12-04T19:37:02.000000Z", "leaseTransitions": 0}}
        created = self.server.create(path, lease).json
        self.assertEqual(created["kind"], "Lease")
        created["spec"]["holderIdentity"] = "b"
        self.assertEqual(self.server.request("PUT", path + "/podsession-controller", created).status, 200)
        self.assertEqual(self.server.request("PUT", path + "/podsession-controller", created).status, 409)

    def test_lease_times_need_microseconds(self):
        path = "/apis/coordination.k8s.io/v1/namespaces/default/leases"
        response = self.server.create(path, {"metadata": {"name": "l"}, "spec": {
            "holderIdentity": "a", "renewTime": "2026-12-04T19:37:02Z"}})
        self.assertEqual(response.status, 400)
        self.assertEqual(response.json["message"],
                         'Lease in version "v1" cannot be handled as a Lease: parsing time '
                         '"2026-12-04T19:37:02Z" as "2006-01-02T15:04:05.000000Z07:00": '
                         'cannot parse "Z" as ".000000"')

    def test_lease_duration_must_be_integer(self):
        path = "/apis/coordination.k8s.io/v1/namespaces/default/leases"
        response = self.server.create(path, {"metadata": {"name": "l"}, "spec": {"leaseDurationSeconds": "15"}})
        self.assertEqual(response.status, 400)
        self.assertIn("cannot unmarshal string into Go struct field LeaseSpec.spec.leaseDurationSeconds "
                      "of type int32", response.json["message"])

    def test_annotation_values_must_be_strings(self):
        self.create_session()
        response = self.server.merge_patch(podsessions(name="s1"), {
            "metadata": {"annotations": {"podsession.io/last-touched": 1764876000}}})
        self.assertEqual(response.status, 400)
        self.assertIn("Go struct field ObjectMeta.metadata.annotations of type string", response.json["message"])

    def test_lease_duration_validated(self):
        path = "/apis/coordination.k8s.io/v1/namespaces/default/leases"
        response = self.server.create(path, {"metadata": {"name": "l"}, "spec": {"leaseDurationSeconds": 0}})
        self.assertEqual(response.status, 422)

    def test_events_in_both_groups(self):
        event = {"metadata": {"name": "s1.1"}, "eventTime": "2026-12-04T19:37:02.000000Z",
                 "reportingController": "podsession.io/controller", "reportingInstance": "pod-a",
                 "action": "CreatePod", "reason": "PodCreated", "type": "Normal", "note": "created",
                 "regarding": {"kind": "PodSession", "namespace": "default", "name": "s1"}}
        response = self.server.create("/apis/events.k8s.io/v1/namespaces/default/events", event)
        self.assertEqual(response.status, 201, response)
        core = self.server.get("/api/v1/namespaces/default/events/s1.1").json
        self.assertEqual(core["message"], "created")
        self.assertEqual(core["involvedObject"]["name"], "s1")
        self.assertEqual(core["reportingComponent"], "podsession.io/controller")

    def test_events_v1_requires_reporting_fields(self):
        response = self.server.create("/apis/events.k8s.io/v1/namespaces/default/events",
                                      {"metadata": {"name": "e"}, "type": "Normal"})
        self.assertEqual(response.status, 422)

    def test_discovery(self):
        groups = [g["name"] for g in self.server.get("/apis").json["groups"]]
        self.assertEqual(sorted(groups), ["coordination.k8s.io", "events.k8s.io", "podsession.io"])
        core = {r["name"] for r in self.server.get("/api/v1").json["resources"]}
        self.assertTrue({"namespaces", "secrets", "events"} <= core)
        custom = self.server.get("/apis/podsession.io/v1alpha1").json["resources"]
        self.assertEqual(custom[0]["shortNames"], ["psess"])
        self.assertEqual(custom[1]["name"], "podsessions/status")

    def test_version_reports_configured_minor(self):
        server = FakeApiServer(version="1.29")
        self.addCleanup(server.stop)
        self.assertEqual(server.get("/version").json["minor"], "29")


class AuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory(prefix="fakekube-certs-")
        cls.certificates = make_certificates(cls.folder.name)

    @classmethod
    def tearDownClass(cls):
        cls.folder.cleanup()

    def start(self, **options):
        server = FakeApiServer(**options)
        self.addCleanup(server.stop)
        return server

    def test_token_required(self):
        server = self.start(token="s3cret-token")
        self.assertEqual(server.get(podsessions(), auth=False).status, 401)
        self.assertEqual(server.get(podsessions(), auth=False).json["reason"], "Unauthorized")
        self.assertEqual(server.get(podsessions()).status, 200)
        wrong = server.get(podsessions(), auth=False, headers={"Authorization": "Bearer nope"})
        self.assertEqual(wrong.status, 401)
        self.assertEqual(server.get("/version", auth=False).status, 200)

    def test_token_over_tls(self):
        tls = dict(self.certificates["server"], ca=self.certificates["ca"])
        server = self.start(token="s3cret-token", tls=tls)
        self.assertEqual(server.get(podsessions()).status, 200)
        result = server.kubectl("get", "psess")
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_client_certificate(self):
        tls = dict(self.certificates["server"], ca=self.certificates["ca"])
        server = self.start(tls=tls, client_ca=self.certificates["ca"])
        self.assertEqual(server.get(podsessions()).status, 401)
        self.assertEqual(server.get(podsessions(), client_cert=self.certificates["client"]).status, 200)
        with self.assertRaises(OSError):
            server.get(podsessions(), client_cert=self.certificates["rogue"])
        kubeconfig = server.write_kubeconfig({
            "client-certificate": self.certificates["client"]["cert"],
            "client-key": self.certificates["client"]["key"]})
        result = server.kubectl("get", "psess", kubeconfig=kubeconfig)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_untrusted_server_rejected_by_kubectl(self):
        tls = dict(self.certificates["server"], ca=self.certificates["ca"])
        server = self.start(tls=tls)
        kubeconfig = server.write_kubeconfig()
        with open(kubeconfig, encoding="utf-8") as stream:
            text = stream.read().replace(self.certificates["ca"],
                                         os.path.join(self.folder.name, "rogue-ca.crt"))
        with open(kubeconfig, "w", encoding="utf-8") as stream:
            stream.write(text)
        result = server.kubectl("get", "psess", kubeconfig=kubeconfig, timeout=60)
        self.assertNotEqual(result.returncode, 0)
        self.assertEqual(server.requests(), [])


class ConnectionTest(FakeServerTest):
    def test_keep_alive_across_requests(self):
        connection = self.server.connection()
        self.addCleanup(connection.close)
        for path, expected in ((podsessions(), 200), (podsessions(name="x"), 404), ("/version", 200)):
            connection.request("GET", path, headers={"Accept": "application/json"})
            response = connection.getresponse()
            response.read()
            self.assertEqual(response.status, expected)
            self.assertNotEqual(response.getheader("Connection"), "close")

    def test_concurrent_updates_one_winner_each(self):
        self.create_session()
        successes, conflicts = [], []

        def bump(worker):
            for _ in range(20):
                current = self.get_session()
                current["spec"]["idleTTLSeconds"] = current["spec"].get("idleTTLSeconds", 0) + 1
                response = self.server.request("PUT", podsessions(name="s1"), current)
                (successes if response.status == 200 else conflicts).append(response.status)
            del worker

        threads = [threading.Thread(target=bump, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual(set(conflicts) - {409}, set())
        self.assertEqual(self.get_session()["spec"]["idleTTLSeconds"], len(successes))
        self.assertEqual(self.get_session()["metadata"]["generation"], 1 + len(successes))


class Ipv6Test(unittest.TestCase):
    def test_listens_on_ipv6_loopback(self):
        server = FakeApiServer(extra_args=["--listen", "[::1]:0"])
        self.addCleanup(server.stop)
        connection = http.client.HTTPConnection("::1", server.port, timeout=10)
        self.addCleanup(connection.close)
        connection.request("GET", "/version")
        self.assertEqual(connection.getresponse().status, 200)


class ProcessTest(unittest.TestCase):
    def test_sigterm_stops_with_open_watch(self):
        server = FakeApiServer()
        stream = server.watch(podsessions(), {"resourceVersion": "1"})
        server.wait_for_watches("podsessions")
        server.process.send_signal(signal.SIGTERM)
        self.assertEqual(server.process.wait(10), 0)
        stream.close()
        server.stop()


if __name__ == "__main__":
    unittest.main()
