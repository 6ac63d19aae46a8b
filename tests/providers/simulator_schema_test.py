"""Checks every request body the RunPod client sends and every response the
simulator returns against RunPod's published REST v2 pod schemas.

The exchanges come from runpod_exchange_dump, which drives the client and a
few raw requests through creates, reads, actions, deletes and errors.

Usage: simulator_schema_test.py DUMP_PROGRAM SCHEMA_FILE
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

import jsonschema

DUMP_PROGRAM = None
SCHEMA_FILE = None

# One structured-field list member per window: "name";key=integer;...
RATE_LIMIT_MEMBER = re.compile(r'^"[a-z]+"(;[a-z]+=\d+)+$')


def validator_for(document, schema_name):
    schema = {"$ref": "#/components/schemas/" + schema_name, "components": document["components"]}
    return jsonschema.Draft202012Validator(schema)


def check_structured_list(test, value, keys):
    members = [member.strip() for member in value.split(",")]
    test.assertGreater(len(members), 0)
    for member in members:
        test.assertRegex(member, RATE_LIMIT_MEMBER)
        for key in keys:
            test.assertIn(";" + key + "=", member)


class simulator_schema_test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(SCHEMA_FILE, encoding="utf-8") as file:
            document = json.load(file)
        cls.validators = {
            name: validator_for(document, name)
            for name in ("Pod", "CreatePodRequest", "ListPodsResponse", "ErrorResponse",
                         "PodActionRequest")
        }
        with tempfile.TemporaryDirectory() as directory:
            output = os.path.join(directory, "exchanges.json")
            subprocess.run([DUMP_PROGRAM, output], check=True, timeout=120)
            with open(output, encoding="utf-8") as file:
                cls.exchanges = json.load(file)["exchanges"]

    def errors(self, schema_name, instance):
        return [error.message for error in self.validators[schema_name].iter_errors(instance)]

    def test_dump_covers_every_operation_and_status(self):
        seen = {(exchange["operation"], exchange["status"]) for exchange in self.exchanges}
        for expected in [("createPod", 201), ("createPod", 400), ("createPod", 422),
                         ("createPod", 429), ("listPods", 200), ("listPods", 401),
                         ("getPod", 200), ("getPod", 404), ("deletePod", 204),
                         ("deletePod", 404), ("podAction", 200), ("podAction", 204),
                         ("podAction", 409),
                         # Replies of scripted faults.
                         ("createPod", 500), ("createPod", 402), ("getPod", 503),
                         ("listPods", 429)]:
            self.assertIn(expected, seen)

    def test_create_requests_match_create_pod_request(self):
        for exchange in self.exchanges:
            if exchange["operation"] != "createPod" or exchange["status"] == 401:
                continue
            with self.subTest(target=exchange["target"], status=exchange["status"]):
                errors = self.errors("CreatePodRequest", json.loads(exchange["requestBody"]))
                if exchange["status"] == 422:
                    # The simulator must reject exactly what the schema rejects.
                    self.assertNotEqual(errors, [])
                else:
                    self.assertEqual(errors, [])

    def test_action_requests_match_pod_action_request(self):
        for exchange in self.exchanges:
            if exchange["operation"] == "podAction":
                with self.subTest(body=exchange["requestBody"]):
                    self.assertEqual(
                        self.errors("PodActionRequest", json.loads(exchange["requestBody"])), [])

    def test_responses_match_their_schemas(self):
        for exchange in self.exchanges:
            status = exchange["status"]
            headers = {name.lower(): value for name, value in exchange["responseHeaders"].items()}
            with self.subTest(operation=exchange["operation"], status=status,
                              target=exchange["target"]):
                if status == 204:
                    self.assertEqual(exchange["responseBody"], "")
                    continue
                body = json.loads(exchange["responseBody"])
                if status >= 400:
                    self.assertEqual(headers["content-type"], "application/problem+json")
                    self.assertEqual(self.errors("ErrorResponse", body), [])
                    self.assertEqual(body["status"], status)
                    continue
                self.assertEqual(headers["content-type"], "application/json")
                schema = "ListPodsResponse" if exchange["operation"] == "listPods" else "Pod"
                self.assertEqual(self.errors(schema, body), [])

    def test_pods_follow_status_rules(self):
        actions = {
            "PROVISIONING": ["stop", "terminate"], "STARTING": ["stop", "terminate"],
            "RUNNING": ["stop", "restart", "terminate"], "EXITED": ["start", "terminate"],
            "ERROR": ["start", "terminate"],
        }
        pods = []
        for exchange in self.exchanges:
            if exchange["status"] in (200, 201):
                body = json.loads(exchange["responseBody"])
                pods.extend(body["pods"] if "pods" in body else [body])
        statuses = {pod["status"] for pod in pods}
        self.assertTrue({"PROVISIONING", "STARTING", "RUNNING", "EXITED", "ERROR"} <= statuses)
        for pod in pods:
            with self.subTest(id=pod["id"], status=pod["status"]):
                self.assertRegex(pod["id"], r"^[a-z0-9]{14}$")
                self.assertEqual(pod["actions"], actions[pod["status"]])
                self.assertEqual(pod["runtime"] is None, pod["status"] != "RUNNING")
                if pod["status"] == "EXITED":
                    self.assertEqual(pod["cost"], 0)
                else:
                    self.assertGreater(pod["cost"], 0)

    def test_env_round_trips_exactly(self):
        sent = {}
        for exchange in self.exchanges:
            if exchange["operation"] == "createPod" and exchange["status"] == 201:
                request = json.loads(exchange["requestBody"])
                response = json.loads(exchange["responseBody"])
                self.assertEqual(response["env"], request.get("env", {}))
                sent.update(request.get("env", {}))
        self.assertEqual(sent["AWKWARD"], "a=b \"q\" 'single' \\ tab\t é 中文 🚀")
        self.assertEqual(sent["EMPTY"], "")

    def test_every_response_carries_rate_limit_headers(self):
        for exchange in self.exchanges:
            headers = {name.lower(): value for name, value in exchange["responseHeaders"].items()}
            with self.subTest(operation=exchange["operation"], status=exchange["status"]):
                check_structured_list(self, headers["ratelimit"], ["r", "t"])
                check_structured_list(self, headers["ratelimit-policy"], ["q", "w"])
                if exchange["status"] == 429:
                    self.assertRegex(headers["retry-after"], r"^\d+$")


if __name__ == "__main__":
    DUMP_PROGRAM, SCHEMA_FILE = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
