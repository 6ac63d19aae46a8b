"""Two controller replicas with --leader-elect: one acts, the other takes over when it dies.

The Lease timing is scaled down to 3 s / 2 s / 500 ms (see controller_harness.py),
so a handover takes seconds. The rules are client-go's at any scale.
"""

import datetime
import unittest

from controller_harness import LEADER_ELECTION_TIMING, LEASE_SECONDS, ControllerEnvironment, session_body
from fakekube import FakeApiServer, podsessions, wait_until

LEASE_PATH = "/apis/coordination.k8s.io/v1/namespaces/default/leases/podsession-controller-default"


def parse_micro_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElectionTest(unittest.TestCase):
    def setUp(self):
        self.server = FakeApiServer()
        self.addCleanup(self.server.stop)
        self.env = ControllerEnvironment(self, self.server)
        arguments = ["--leader-elect", *LEADER_ELECTION_TIMING]
        self.replicas = {name: self.env.start_controller(name, arguments)
                         for name in ("ctl-a", "ctl-b")}

    def lease(self):
        response = self.server.get(LEASE_PATH)
        return response.json if response.status == 200 else None

    def holder(self):
        return ((self.lease() or {}).get("spec") or {}).get("holderIdentity")

    def create(self, name):
        response = self.server.create(podsessions(), session_body(name))
        self.assertEqual(response.status, 201, response)

    def writes_by(self, name):
        """Writes to sessions, Secrets and Events sent by one replica (Lease writes apart)."""
        return [e for e in self.server.requests()
                if f"({name})" in e["userAgent"] and e["method"] in ("POST", "PATCH", "PUT", "DELETE")
                and "/leases" not in e["path"]]

    def test_only_leader_acts_and_follower_takes_over(self):
        leader_name = wait_until(lambda: self.holder() in self.replicas and self.holder(),
                                 timeout=15, message="a replica to take the Lease")
        follower_name = next(name for name in self.replicas if name != leader_name)
        leader, follower = self.replicas[leader_name], self.replicas[follower_name]
        for name in ("s1", "s2"):
            self.create(name)
        for name in ("s1", "s2"):
            self.env.wait_for_phase(name, "Running")

        # Only the leader wrote; both watch.
        self.assertTrue(self.writes_by(leader_name))
        self.assertEqual(self.writes_by(follower_name), [])
        self.assertTrue(follower.wait_for_log("following the leader"))
        self.assertTrue(follower.wait_for_log("listed PodSessions"))
        self.assertEqual(leader.metric("podsession_leader"), 1)
        self.assertEqual(follower.metric("podsession_leader"), 0)

        # SIGKILL: no release, the follower must wait for the Lease to expire.
        leader.kill()
        last_renewal = self.lease()["spec"]["renewTime"]
        wait_until(lambda: self.holder() == follower_name, timeout=LEASE_SECONDS + 10,
                   message=f"{follower_name} to take the Lease")
        spec = self.lease()["spec"]
        waited = parse_micro_time(spec["acquireTime"]) - parse_micro_time(last_renewal)
        self.assertGreaterEqual(waited.total_seconds(), LEASE_SECONDS - 0.05, spec)
        self.assertGreaterEqual(spec["leaseTransitions"], 1)
        wait_until(lambda: follower.metric("podsession_leader") == 1, timeout=10,
                   message="the new leader's gauge")

        # The new leader acts on new sessions and adopts the old ones' pods.
        self.create("s3")
        self.env.wait_for_phase("s3", "Running")
        self.assertTrue(self.writes_by(follower_name))
        for name in ("s1", "s2", "s3"):
            self.env.assert_one_pod_ever(name)
        self.assertEqual(self.server.request("DELETE", podsessions(name="s1")).status, 200)
        self.env.wait_for_gone("s1")
        self.assertTrue(all(p["deleted"] for p in self.env.simulator.pods_of("s1")))

    def test_graceful_stop_releases_lease(self):
        leader_name = wait_until(lambda: self.holder() in self.replicas and self.holder(),
                                 timeout=15, message="a replica to take the Lease")
        follower_name = next(name for name in self.replicas if name != leader_name)
        self.create("s1")
        self.env.wait_for_phase("s1", "Running")

        self.assertEqual(self.replicas[leader_name].stop(), 0)
        self.assertIn("released the leader-election lease", self.replicas[leader_name].output())
        wait_until(lambda: self.holder() == follower_name, timeout=LEASE_SECONDS + 10,
                   message=f"{follower_name} to take the released Lease")
        self.create("s2")
        self.env.wait_for_phase("s2", "Running")
        self.env.assert_one_pod_ever("s1")
        self.env.assert_one_pod_ever("s2")


    def test_leader_stops_acting_when_renewals_fail(self):
        leader_name = wait_until(lambda: self.holder() in self.replicas and self.holder(),
                                 timeout=15, message="a replica to take the Lease")
        leader = self.replicas[leader_name]
        # Every Lease write fails from now on, so the leader cannot renew and
        # no replica can take over.
        self.server.faults(failWrites={"path": LEASE_PATH, "method": "PUT", "code": 503,
                                       "count": 100000})
        self.assertTrue(leader.wait_for_log("lost the leader-election lease"))
        self.assertIn("no renewal within the renew deadline", leader.output())
        self.assertTrue(leader.wait_for_log("executor of the leadership term stopped"))
        for replica in self.replicas.values():
            self.assertEqual(replica.metric("podsession_leader"), 0)

        # A session created now gets nothing while no replica leads, through
        # several retry periods of both replicas.
        seq = self.server.requests()[-1]["seq"]
        self.create("s1")
        wait_until(lambda: len([e for e in self.server.requests(since=seq)
                                if e["path"] == LEASE_PATH and e["method"] == "PUT"]) >= 6,
                   timeout=20, message="six failed Lease writes")
        self.assertNotIn("status", self.env.session("s1"))
        self.assertEqual(self.env.simulator.pods_of("s1"), [])
        for name in self.replicas:
            self.assertEqual([e for e in self.writes_by(name) if e["seq"] > seq], [])

        # Once the Lease can be written again, a leader acts on it.
        self.assertEqual(self.server.request("DELETE", "/_fake/faults").status, 200)
        self.env.wait_for_phase("s1", "Running")
        self.env.assert_one_pod_ever("s1")


if __name__ == "__main__":
    unittest.main()
