#!/usr/bin/env python3
"""Bad session files beside good ones: each is reported with its file, line
and field, gets no pod, and stops nothing else. `podsession validate` reports
the same files offline.

Run through CTest, or by hand:
  PODSESSION_BINARY=build/podsession /usr/bin/python3 input_test.py -v BadInput
"""

import json
import os
import re
import subprocess
import threading
import unittest

from harness import PODSESSION, IntegrationTest, condition, pod_name_prefix, session_yaml


def line_of(text, fragment):
    """Returns the 1-based number of the first line of `text` containing `fragment`."""
    for number, line in enumerate(text.splitlines(), start=1):
        if fragment in line:
            return number
    raise ValueError(f"{fragment!r} not in the text")


NOT_YAML = session_yaml("broken").replace("types: [rtx-4090]", "types: [rtx-4090, {")
UNKNOWN_FIELD = session_yaml("unknown", extra_spec="  flavour: spicy\n")
NEGATIVE_TTL = session_yaml("negative", idle_ttl=-5)
UNKNOWN_GPU = session_yaml("unknowngpu", gpu="rtx-9999")
# Both files declare default/shared; the controller reads files in name order,
# so shared-a.yaml owns the session.
SHARED_FIRST = session_yaml("shared")
SHARED_SECOND = session_yaml("shared", idle_ttl=60)

# file name, content, session name (None when no session can be named),
# the fragment of the line the error is on, and the field path.
BAD_FILES = [
    ("not-yaml.yaml", NOT_YAML, None, None, None),
    ("unknown-field.yaml", UNKNOWN_FIELD, "unknown", "flavour:", "spec.flavour"),
    ("negative-ttl.yaml", NEGATIVE_TTL, "negative", "idleTTLSeconds:", "spec.idleTTLSeconds"),
    ("unknown-gpu.yaml", UNKNOWN_GPU, "unknowngpu", "types:", r"spec.gpu.types[0]"),
]


def alias_bomb(name, levels=11):
    """Returns a session file of under a kilobyte whose anchors each alias the
    one before ten times: 10^(levels + 1) scalars if every alias were copied.
    Anchor a4 on line 8 is the first past the limit of 100,000 nodes."""
    lines = ["apiVersion: podsession.io/v1alpha1", "kind: PodSession",
             f"metadata: {{name: {name}}}", "x0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels + 1):
        lines.append(f"x{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    lines.append('spec: {image: "x:1", gpu: {types: [rtx-4090]}, ports: [{port: 8000}]}')
    return "\n".join(lines) + "\n"


class BadInput(IntegrationTest):
    def write_files(self):
        self.sessions.write("good-one.yaml", session_yaml("goodone"))
        self.sessions.write("good-two.yml", session_yaml("goodtwo", namespace="apps"))
        for filename, text, _, _, _ in BAD_FILES:
            self.sessions.write(filename, text)
        self.sessions.write("shared-a.yaml", SHARED_FIRST)
        self.sessions.write("shared-b.yaml", SHARED_SECOND)

    def test_controller_reports_and_skips(self):
        self.start_simulator()
        self.write_files()
        controller = self.start_controller()
        self.wait_for_phase("goodone", "Running")
        self.wait_for_phase("goodtwo", "Running", "apps")
        self.wait_for_phase("shared", "Running")
        log = controller.log_text()

        for filename, text, name, fragment, field in BAD_FILES:
            with self.subTest(file=filename):
                path = re.escape(self.sessions.file(filename))
                if fragment is None:
                    # The parser names the line where it gave up, which may
                    # follow the broken one.
                    found = re.search(rf"{path}:(\d+): ", log)
                    self.assertIsNotNone(found, f"no error line for {filename}")
                    self.assertIn(int(found.group(1)), range(1, len(text.splitlines()) + 1))
                    self.assertEqual(self.simulator.pods(pod_name_prefix("broken")), [])
                    continue
                line = line_of(text, fragment)
                self.assertRegex(log, rf"{path}:{line}: PodSession default/{name}: "
                                      rf"{re.escape(field)}: ")
                status = self.sessions.status(name)
                self.assertEqual(condition(status, "SpecInvalid")["status"], "True")
                self.assertEqual(self.simulator.pods(pod_name_prefix(name)), [])

        self.assertRegex(
            log, rf"declared in another file.* file={re.escape(self.sessions.file('shared-b.yaml'))}"
                 rf" line=1 session=default/shared "
                 rf"declared_in={re.escape(self.sessions.file('shared-a.yaml'))}")

        # Later lists change nothing: three pods, all running.
        self.wait_for_resyncs(3)
        for name, namespace in (("goodone", "default"), ("goodtwo", "apps"),
                                ("shared", "default")):
            self.assertEqual(self.sessions.status(name, namespace)["phase"], "Running")
        pods = self.simulator.pods("psn-")
        self.assertEqual(sorted(pod["name"].rsplit("-", 1)[0] for pod in pods),
                         ["psn-default-apps-goodtwo", "psn-default-default-goodone",
                          "psn-default-default-shared"], self.simulator.describe())
        self.assertFalse(any(pod["deleted"] for pod in pods))
        # The owner's spec applies, not the ignored duplicate's TTL of 60 s.
        shared = self.sessions.status("shared")
        self.assertGreater(
            shared["expiresAt"].timestamp() - shared["readyAt"].timestamp(), 60)

    def validate(self, *filenames):
        return subprocess.run([PODSESSION, "validate", *map(self.sessions.file, filenames)],
                              capture_output=True, text=True, timeout=30)

    def test_validate_names_file_line_field(self):
        self.write_files()
        for filename, text, _, fragment, field in BAD_FILES:
            with self.subTest(file=filename):
                result = self.validate(filename)
                self.assertEqual(result.returncode, 1, result.stderr)
                path = re.escape(self.sessions.file(filename))
                line = r"\d+" if fragment is None else str(line_of(text, fragment))
                self.assertRegex(result.stderr, rf"{path}:{line}: ")
                if field is not None:
                    self.assertIn(f": {field}: ", result.stderr)

        result = self.validate("shared-a.yaml", "shared-b.yaml")
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertRegex(result.stderr,
                         rf"{re.escape(self.sessions.file('shared-b.yaml'))}:1: "
                         r"PodSession default/shared: already declared at "
                         rf"{re.escape(self.sessions.file('shared-a.yaml'))}:1")

        result = self.validate("good-one.yaml", "good-two.yml")
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_touch_reaches_every_file_declaring_the_session(self):
        # The controller follows whichever file declared the session first,
        # which the touch command cannot know: a touch of only one file could
        # miss the owner and let an active session expire.
        self.write_files()
        result = subprocess.run(
            [PODSESSION, "touch", "shared", "--sessions-dir", self.sessions.path,
             "--time", "2026-12-04T19:37:02Z"],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("is declared in 2 files", result.stderr)
        for filename in ("shared-a.yaml", "shared-b.yaml"):
            with open(self.sessions.file(filename), encoding="utf-8") as stream:
                self.assertIn('podsession.io/last-touched: "2026-12-04T19:37:02', stream.read(),
                              filename)
            self.assertIn(self.sessions.file(filename), result.stdout)


ENV_SECRET = "sk-SECRET1-never-printed"
ENV_AS_SCALAR = session_yaml("envscalar", extra_spec=f'  env: ["API_KEY={ENV_SECRET}"]\n')


class SecretInput(IntegrationTest):
    """A key file that ends up with a .yaml name, and an env entry written as
    `NAME=value`, are reported without their content."""

    def write_files(self):
        self.sessions.write("good-one.yaml", session_yaml("goodone"))
        self.sessions.write("env-scalar.yaml", ENV_AS_SCALAR)
        os.symlink(self.simulator.key_file, self.sessions.file("key.yaml"))
        self.known_secrets.append(ENV_SECRET)

    def test_controller_and_validate_hide_secrets(self):
        self.start_simulator()
        self.write_files()
        controller = self.start_controller()
        self.wait_for_phase("goodone", "Running")
        status = self.wait_for(lambda: self.sessions.status("envscalar"), "envscalar status")
        self.assertEqual(condition(status, "SpecInvalid")["status"], "True")
        self.assertFalse(ENV_SECRET in json.dumps(status, default=str), "the env value is in the status")
        self.wait_for_log(controller, re.escape(self.sessions.file("key.yaml")) + r":1: ")
        self.assertIn("spec.env[0]: is a scalar for API_KEY", controller.log_text())

        result = subprocess.run(
            [PODSESSION, "validate", self.sessions.file("env-scalar.yaml"),
             self.sessions.file("key.yaml")],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 1)
        output = result.stdout + result.stderr
        for secret in self.known_secrets:
            # Compared without assertNotIn, whose message would print the secret.
            self.assertFalse(secret in output, "validate printed a secret")
        self.assertIn("spec.env[0]: is a scalar for API_KEY", result.stderr)
        self.assertIn("(document): is a scalar, not a mapping", result.stderr)
        # Cleanups check the controller and simulator logs for known_secrets.



class AliasBomb(IntegrationTest):
    """A file whose aliases would expand to 10^12 nodes is rejected like a file
    that does not parse, and the controller goes on serving every other
    session. Walking such a file would take hours at full CPU, deaf to
    SIGTERM, while pods of deleted sessions kept running."""

    def test_controller_rejects_bomb_and_carries_on(self):
        self.start_simulator()
        self.sessions.write("keep.yaml", session_yaml("keep"))
        self.sessions.write("gone.yaml", session_yaml("gone"))
        controller = self.start_controller()
        keep_pod = self.wait_for_phase("keep", "Running")["podId"]
        self.wait_for_phase("gone", "Running")

        # A bomb beside the sessions, and one saved over a live session's file.
        self.sessions.write("zz-bomb.yaml", alias_bomb("bomb"))
        self.sessions.write("keep.yaml", alias_bomb("keep"))
        for filename in ("zz-bomb.yaml", "keep.yaml"):
            self.wait_for_log(controller, re.escape(self.sessions.file(filename)) +
                              r":8: \(document\): anchors and aliases expand this document to "
                              r"more than 100000 nodes \(at alias \*a3\); write the values out")

        # A deleted session's pod is still terminated.
        self.sessions.remove("gone.yaml")
        self.wait_for(lambda: self.simulator.pods(pod_name_prefix("gone"))[0]["deleted"],
                      "the deleted session's pod to be terminated")

        # A new session still gets its pod, even with a bomb where its status
        # file goes: the controller reads that file for a UID to keep.
        os.makedirs(os.path.dirname(self.sessions.status_path("fresh")), exist_ok=True)
        with open(self.sessions.status_path("fresh"), "w", encoding="utf-8") as file:
            file.write(alias_bomb("fresh").replace(
                "metadata: {name: fresh}",
                "metadata: {name: fresh, uid: 3f1c9e2a-5b7d-4e8f-9a0b-1c2d3e4f5a6b}"))
        self.sessions.write("fresh.yaml", session_yaml("fresh"))
        self.wait_for_phase("fresh", "Running")
        self.assertRegex(controller.log_text(),
                         r"status file is not valid, ignoring it path=\S*fresh\.yaml "
                         r'error="anchors and aliases expand it too far')

        # The file that turned into a bomb keeps its session, as a file that
        # does not parse does, and the bomb of its own gets no pod.
        self.wait_for_resyncs(3)
        status = self.sessions.status("keep")
        self.assertEqual((status["phase"], status["podId"]), ("Running", keep_pod),
                         self.diagnostics())
        self.assertFalse(self.simulator.pods(pod_name_prefix("keep"))[0]["deleted"])
        self.assertEqual(self.simulator.pods(pod_name_prefix("bomb")), [])
        self.assertEqual(self.simulator.calls()["deletePod"], 1)

        self.assertEqual(controller.http_get("/healthz")[0], 200)
        self.assertEqual(controller.terminate(), 0, controller.log_tail())


class InputMessages(IntegrationTest):
    """Offline commands name what is wrong with a file, not only that it failed."""

    def run_command(self, *arguments, timeout=30, **options):
        return subprocess.run([PODSESSION, *arguments], capture_output=True, text=True,
                              timeout=timeout, **options)

    def assert_usage_error(self, result, command, message=None):
        """Exit 2, and stderr is `podsession COMMAND: MESSAGE` with the --help pointer."""
        self.assertEqual(result.returncode, 2, result.stderr)
        pointer = f"\nRun `podsession {command} --help` for the options.\n"
        self.assertTrue(result.stderr.endswith(pointer), result.stderr)
        if message is not None:
            self.assertEqual(result.stderr, f"podsession {command}: {message}{pointer}")

    def write_status(self, namespace, filename, text=None, root=None):
        """Writes a status file as the controller records one, and returns its path."""
        folder = os.path.join(root or self.sessions.path, ".status", namespace)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, filename)
        name = filename.removesuffix(".yaml")
        with open(path, "w", encoding="utf-8") as file:
            file.write(text or f"metadata: {{name: {name}, namespace: {namespace}, uid: u-1}}\n"
                               "status: {phase: Running}\n")
        return path

    def test_validate_names_limits_and_causes(self):
        self.sessions.write("large.yaml", "# " + "x" * (4 * 1024 * 1024) + "\n")
        self.sessions.write("no-spec.yaml", "apiVersion: podsession.io/v1alpha1\n"
                                            "kind: PodSession\nmetadata: {name: nospec}\n")
        result = self.run_command("validate", self.sessions.file("large.yaml"),
                                  self.sessions.file("no-spec.yaml"))
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("larger than the limit of 4194304 bytes", result.stderr)
        self.assertIn("PodSession default/nospec: spec: is required", result.stderr)
        self.assertNotIn("not valid YAML", result.stderr)

    def test_touch_names_unparsable_file(self):
        self.sessions.write("broken.yaml", NOT_YAML)
        result = self.run_command("touch", "broken", "--sessions-dir", self.sessions.path)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("do not parse", result.stderr)
        self.assertIn(self.sessions.file("broken.yaml"), result.stderr)

    def test_validate_refuses_a_fifo_without_waiting(self):
        # Opening a FIFO for reading blocks until a writer comes: the command
        # must refuse it instead (the subprocess timeout bounds a hang).
        fifo = self.sessions.file("pipe.yaml")
        os.mkfifo(fifo)
        result = self.run_command("validate", fifo)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("not a regular file", result.stderr)

    def test_validate_alias_bomb_finishes(self):
        # Each level refers ten times to the one before, so the last expands to
        # 10^12 scalars from under a kilobyte of YAML.
        lines = ["apiVersion: podsession.io/v1alpha1", "kind: PodSession",
                 "metadata: {name: bomb}", 'x0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
        for level in range(1, 12):
            lines.append(f"x{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
        self.sessions.write("bomb.yaml", "\n".join(lines) + "\n")
        result = subprocess.run([PODSESSION, "validate", self.sessions.file("bomb.yaml")],
                                capture_output=True, text=True, timeout=10)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(self.sessions.file("bomb.yaml"), result.stderr)

    def test_get_skips_alias_bomb_status_file(self):
        # Converting this status file to JSON would take gigabytes of memory.
        status_dir = os.path.join(self.sessions.path, ".status", "default")
        os.makedirs(status_dir)
        with open(os.path.join(status_dir, "bomb.yaml"), "w", encoding="utf-8") as file:
            file.write(alias_bomb("bomb").replace(
                "metadata: {name: bomb}",
                "metadata: {name: bomb, uid: 3f1c9e2a-5b7d-4e8f-9a0b-1c2d3e4f5a6b}"))
        result = subprocess.run([PODSESSION, "get", "-A", "--sessions-dir", self.sessions.path],
                                capture_output=True, text=True, timeout=10)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(os.path.join(status_dir, "bomb.yaml") +
                      ": anchors and aliases expand it too far", result.stderr)

    def test_validate_folder_with_symlink_loop(self):
        os.symlink("loop.yaml", self.sessions.file("loop.yaml"))
        result = self.run_command("validate", self.sessions.path)
        self.assertIn(result.returncode, (0, 1), result.stderr)
        self.assertNotIn("terminate called", result.stderr)

    def test_unknown_option_is_usage_error(self):
        for command in ("run", "touch", "get", "validate", "sign", "verify", "simulate-runpod"):
            with self.subTest(command=command):
                result = self.run_command(command, "--no-such-flag")
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertEqual(result.stdout, "")
                self.assertEqual(result.stderr,
                                 f"podsession {command}: unrecognised option '--no-such-flag'\n"
                                 f"Run `podsession {command} --help` for the options.\n")

    def test_help_shows_usage_then_options(self):
        for command in ("run", "touch", "get", "validate", "sign", "verify", "simulate-runpod"):
            with self.subTest(command=command):
                result = self.run_command(command, "--help")
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertTrue(result.stdout.startswith(f"usage: podsession {command}"),
                                result.stdout[:200])
                self.assertIn("\noptions:\n  -h [ --help ]", result.stdout)
                # Every option that takes a value names it, as in the usage line.
                self.assertNotRegex(result.stdout, r"--[a-z-]+ arg\b")

    def test_missing_operand_is_usage_error(self):
        cases = [("touch", "--sessions-dir", self.sessions.path), ("validate",),
                 ("sign", "--secret-env", "HOME"), ("verify", "--secret-env", "HOME")]
        for arguments in cases:
            with self.subTest(command=arguments[0]):
                result = self.run_command(*arguments)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertTrue(result.stderr.endswith(
                    f"\nRun `podsession {arguments[0]} --help` for the options.\n"), result.stderr)

    def test_run_checks_flags_before_help(self):
        # The chart's tests rely on this: `run FLAGS --help` fails on a bad flag.
        result = self.run_command("run", "--workers", "many", "--help")
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("--workers", result.stderr)

    def test_get_reports_broken_status_file(self):
        status_dir = os.path.join(self.sessions.path, ".status", "default")
        os.makedirs(status_dir)
        with open(os.path.join(status_dir, "good.yaml"), "w", encoding="utf-8") as file:
            file.write("metadata: {name: good, namespace: default, uid: u-1}\n"
                       "status: {phase: Running}\n")
        with open(os.path.join(status_dir, "broken.yaml"), "w", encoding="utf-8") as file:
            file.write("metadata: [\n")
        result = self.run_command("get", "--sessions-dir", self.sessions.path)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(os.path.join(status_dir, "broken.yaml") + ": not a status file",
                      result.stderr)
        self.assertEqual([line.split()[:2] for line in result.stdout.splitlines()],
                         [["NAME", "PHASE"], ["good", "Running"]])

    def test_empty_value_is_usage_error(self):
        # An unset shell variable gives an empty value, which must not mean
        # "not given": an empty --runpod-base-url would reach the real RunPod.
        # --help ends every command once its options are read, so a binary
        # that accepts the empty value prints its help and starts nothing.
        directory = self.sessions.path
        cases = [("run", "runpod-base-url", ["--runpod-base-url", ""]),
                 ("run", "runpod-api-key-file", ["--runpod-api-key-file", ""]),
                 ("run", "sessions-dir", ["--sessions-dir", ""]),
                 ("run", "kubeconfig", ["--kubeconfig", ""]),
                 ("run", "simulated-state-file", ["--simulated-state-file", ""]),
                 ("run", "sessions-dir", ["--sessions-dir="]),
                 ("simulate-runpod", "api-key-file", ["--api-key-file", ""]),
                 ("simulate-runpod", "rate-limit",
                  ["--rate-limit", "minute=60/60", "--rate-limit", ""]),
                 ("get", "sessions-dir", ["--sessions-dir", ""]),
                 ("get", "namespace", ["--sessions-dir", directory, "-n", ""]),
                 ("touch", "namespace", ["x", "--sessions-dir", directory, "-n", ""]),
                 ("touch", "kubeconfig", ["x", "--kubeconfig", ""]),
                 ("sign", "secret-file", ["/x", "--secret-file", ""])]
        for command, flag, arguments in cases:
            with self.subTest(command=command, arguments=arguments):
                result = self.run_command(command, *arguments, "--help")
                self.assert_usage_error(
                    result, command, f"--{flag}: empty value; give a value or leave the flag out")
                self.assertEqual(result.stdout, "")
        operand_cases = [("touch", "NAME", ["", "--sessions-dir", directory]),
                         ("get", "NAME", ["", "--sessions-dir", directory]),
                         ("validate", "FILE", [directory, ""])]
        for command, operand, arguments in operand_cases:
            with self.subTest(command=command, arguments=arguments):
                result = self.run_command(command, *arguments, "--help")
                self.assert_usage_error(
                    result, command, f"empty {operand} argument; give a non-empty {operand}")

    def test_options_are_spelt_in_full(self):
        # A prefix is rejected, because a flag added later could change what it means.
        # The operands, which boost keeps as options, are not flags either.
        directory = self.sessions.path
        cases = [("get", "--sess", ["--sess", directory]),
                 ("get", "--all", ["--sessions-dir", directory, "--all"]),
                 ("run", "--sessions", ["--sessions", directory, "--help"]),
                 ("get", "--name", ["--sessions-dir", directory, "--name", "x"]),
                 ("touch", "--name", ["--name", "x", "--sessions-dir", directory]),
                 ("validate", "--file", ["--file", directory]),
                 ("sign", "--url", ["--url", "/x", "--secret-env", "HOME"]),
                 ("verify", "--url", ["--url", "/x", "--secret-env", "HOME"])]
        for command, flag, arguments in cases:
            with self.subTest(command=command, arguments=arguments):
                self.assert_usage_error(self.run_command(command, *arguments), command,
                                        f"unrecognised option '{flag}'")

    def test_validate_and_touch_name_a_symlink_loop(self):
        os.symlink("loop.yaml", self.sessions.file("loop.yaml"))
        self.sessions.write("good.yaml", session_yaml("good"))
        result = self.run_command("validate", self.sessions.file("loop.yaml"))
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertEqual(result.stderr,
                         f"podsession validate: {self.sessions.file('loop.yaml')}: cannot read: "
                         "Too many levels of symbolic links\n")

        result = self.run_command("validate", self.sessions.path)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(f"{self.sessions.file('loop.yaml')}: cannot read: "
                      "Too many levels of symbolic links", result.stderr)
        self.assertIn("PodSession default/good is valid", result.stdout)

        # touch lists the same folder: the link is one of the files that may
        # declare the session, and the good file is still touched.
        result = self.run_command("touch", "good", "--sessions-dir", self.sessions.path)
        self.assertEqual(result.returncode, 0, result.stderr)
        result = self.run_command("touch", "other", "--sessions-dir", self.sessions.path)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(f"cannot be read or do not parse and may declare it; check them with "
                      f"podsession validate: {self.sessions.file('loop.yaml')}", result.stderr)

    def test_get_skips_symlinks(self):
        # Outside DIR/.status: a status file and a namespace folder that get
        # must not read through links.
        outside = os.path.join(self.workdir, "outside")
        elsewhere = self.write_status("elsewhere", "secret.yaml", root=outside)
        self.write_status("default", "good.yaml")
        status_dir = os.path.join(self.sessions.path, ".status")
        os.symlink(elsewhere, os.path.join(status_dir, "default", "linked.yaml"))
        os.symlink(os.path.dirname(elsewhere), os.path.join(status_dir, "linkedns"))

        result = self.run_command("get", "--sessions-dir", self.sessions.path, "-A")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual([line.split()[:3] for line in result.stdout.splitlines()],
                         [["NAMESPACE", "NAME", "PHASE"], ["default", "good", "Running"]])
        for link in (os.path.join(status_dir, "default", "linked.yaml"),
                     os.path.join(status_dir, "linkedns")):
            self.assertIn(f"podsession get: warning: {link}: a symbolic link, which the "
                          "controller never writes; it is skipped\n", result.stderr)

        result = self.run_command("get", "--sessions-dir", self.sessions.path, "-n", "linkedns")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "")
        self.assertIn(f"{os.path.join(status_dir, 'linkedns')}: a symbolic link", result.stderr)

    def test_get_reports_what_it_cannot_read(self):
        # A .status that is a file: the controller cannot record anything.
        os.makedirs(os.path.join(self.workdir, "plain"))
        plain = os.path.join(self.workdir, "plain", ".status")
        with open(plain, "w", encoding="utf-8") as file:
            file.write("not a folder\n")
        for scope in ([], ["-A"]):
            with self.subTest(scope=scope):
                result = self.run_command("get", "--sessions-dir", os.path.dirname(plain), *scope)
                self.assertEqual(result.returncode, 1, result.stderr)
                self.assertIn(f"podsession get: {plain}: not a directory", result.stderr)

        # A status file that is a folder is not a FIFO.
        self.write_status("default", "good.yaml")
        folder = os.path.join(self.sessions.path, ".status", "default", "folder.yaml")
        os.makedirs(folder)
        result = self.run_command("get", "--sessions-dir", self.sessions.path)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(f"podsession get: {folder}: cannot read: a directory, not a regular file",
                      result.stderr)
        self.assertNotIn("FIFO", result.stderr)

        # A namespace folder that cannot be listed. Root can list any folder,
        # so as root the command runs as uid 65534 (nobody), with the path open to it.
        locked = os.path.join(self.sessions.path, ".status", "locked")
        os.makedirs(locked)
        self.write_status("locked", "hidden.yaml")
        os.chmod(locked, 0)
        self.addCleanup(os.chmod, locked, 0o755)
        options = {}
        if os.geteuid() == 0:
            for path in (self.workdir, self.sessions.path):
                os.chmod(path, 0o755)
            options = {"user": 65534, "group": 65534, "extra_groups": []}
        for scope in (["-n", "locked"], ["-A"]):
            with self.subTest(scope=scope):
                result = self.run_command("get", "--sessions-dir", self.sessions.path, *scope,
                                          **options)
                self.assertEqual(result.returncode, 1, result.stderr)
                self.assertIn(f"podsession get: {locked}: cannot list: Permission denied",
                              result.stderr)

    def test_get_escapes_control_characters(self):
        # A file name or a status field must not move the cursor, colour the
        # terminal or start a row of its own.
        self.write_status("default", "evil\x1b[2J.yaml",
                          'metadata: {name: "evil\\e[2J", namespace: default, uid: u-1}\n'
                          'status: {phase: Running, gpuType: "RTX\\e[31m",\n'
                          '  endpoints: [{url: "https://a\\nb\\rc"}]}\n')
        result = self.run_command("get", "--sessions-dir", self.sessions.path)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("\x1b", result.stdout)
        self.assertNotIn("\r", result.stdout)
        lines = result.stdout.splitlines()
        self.assertEqual(len(lines), 2, result.stdout)
        self.assertEqual(lines[1].split()[:5],
                         ["evil\\x1b[2J", "Running", "RTX\\x1b[31m", "https://a\\nb\\rc",
                          "<default>"])

        # The same escaping in messages that name such a file.
        with open(os.path.join(self.sessions.path, ".status", "default", "bad\x07.yaml"), "w",
                  encoding="utf-8") as file:
            file.write("metadata: [\n")
        result = self.run_command("get", "--sessions-dir", self.sessions.path)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertNotIn("\x07", result.stderr)
        self.assertIn("bad\\x07.yaml: not a status file", result.stderr)

    def test_get_bad_sessions_dir_message(self):
        missing = os.path.join(self.workdir, "missing")
        result = self.run_command("get", "--sessions-dir", missing)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertEqual(result.stderr,
                         f"podsession get: --sessions-dir {missing}: no such directory; pass the "
                         "folder of PodSession files that `podsession run --sessions-dir` reads\n")
        file = self.sessions.file("session.yaml")
        self.sessions.write("session.yaml", session_yaml("alpha"))
        result = self.run_command("get", "--sessions-dir", file)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(f"--sessions-dir {file}: not a directory; pass the folder", result.stderr)

    def test_run_rejects_url_user_info(self):
        # The URL names a closed loopback port, and it is rejected before any request.
        password = "pw-SECRET2-never-logged"
        self.known_secrets.append(password)
        result = self.run_command(
            "run", "--sessions-dir", self.sessions.path, "--provider", "runpod",
            "--runpod-base-url", f"http://user:{password}@127.0.0.1:1", "--listen", "127.0.0.1:0",
            env={**os.environ, "RUNPOD_API_KEY": "rk-dummy"})
        # Compared without assertNotIn, whose message would print the password.
        self.assertFalse(password in result.stderr + result.stdout, "the password was printed")
        self.assert_usage_error(
            result, "run",
            "--runpod-base-url: user info (USER:PASSWORD@) is not allowed in the URL; give the "
            "API key with --runpod-api-key-file or RUNPOD_API_KEY")

    def test_listen_is_checked_with_the_other_flags(self):
        # A malformed --listen is a usage error before the simulator starts.
        for listen in ("127.0.0.1:99999", "127.0.0.1", ":-1", "localhost:80"):
            with self.subTest(listen=listen):
                result = self.run_command("run", "--sessions-dir", self.sessions.path,
                                          "--listen", listen)
                self.assert_usage_error(result, "run")
                self.assertIn(f"--listen {listen} is not ADDR:PORT", result.stderr)
                self.assertNotIn("simulated RunPod", result.stderr)

    def test_simulator_sign_and_verify_errors_point_to_help(self):
        key_file = os.path.join(self.workdir, "api-key")
        with open(key_file, "w", encoding="utf-8") as file:
            file.write("sk-sim\n")
        simulator = ["simulate-runpod", "--api-key-file", key_file]
        loopback = ["--listen", "127.0.0.1:0"]
        cases = [([*simulator, *loopback, "--log-level", "loud"],
                  "--log-level \"loud\" is not a log level"),
                 ([*simulator, "--listen", "127.0.0.1"], "--listen \"127.0.0.1\" is not ADDR:PORT"),
                 ([*simulator, *loopback, "--boot-seconds", "-1"],
                  "--boot-seconds -1 is out of range"),
                 ([*simulator, *loopback, "--rate-limit", "x"],
                  "--rate-limit \"x\" is not NAME=QUOTA"),
                 ([*simulator, *loopback, "--tls-cert", key_file],
                  "--tls-cert and --tls-key go together"),
                 (["sign", "/x"], "missing secret: pass --secret-file FILE"),
                 (["verify", "/x?exp=1&sig=x"], "missing secret: pass --secret-file FILE"),
                 (["sign", "/x", "--secret-file", key_file, "--secret-env", "HOME"],
                  "--secret-file and --secret-env are both given"),
                 (["sign", "/x", "--secret-file", key_file, "--expires-in", "soon"],
                  "--expires-in soon: not a duration"),
                 (["version", "--bogus"], "unrecognised option '--bogus'")]
        for arguments, message in cases:
            with self.subTest(arguments=arguments):
                # A simulator that accepts its flags serves until killed: the
                # short timeout ends it and fails the test.
                try:
                    result = self.run_command(*arguments, timeout=5)
                except subprocess.TimeoutExpired:
                    self.fail(f"{arguments} started instead of rejecting its flags")
                self.assert_usage_error(result, arguments[0])
                self.assertIn(f"podsession {arguments[0]}: {message}", result.stderr)

    def test_touch_checks_names_and_sources_as_get_does(self):
        directory = self.sessions.path
        for command in ("touch", "get"):
            for arguments in (["../x"], ["x", "-n", "../apps"], ["Upper"]):
                with self.subTest(command=command, arguments=arguments):
                    result = self.run_command(command, *arguments, "--sessions-dir", directory)
                    self.assert_usage_error(result, command)
                    self.assertRegex(result.stderr, r" is not (a )?valid")
        result = self.run_command("touch", "x", "--sessions-dir", directory,
                                  "--kubeconfig", self.sessions.file("kubeconfig"))
        self.assert_usage_error(result, "touch",
                                "pass either --sessions-dir or --kubeconfig, not both")
        result = self.run_command("touch", "x")
        self.assert_usage_error(result, "touch", "pass --sessions-dir DIR or --kubeconfig FILE")

    def test_extra_operand_is_usage_error(self):
        cases = [(("get", "a", "b", "--sessions-dir", self.sessions.path),
                  "too many arguments: give at most one NAME"),
                 (("run", "stray"), "unexpected argument: this command takes only options"),
                 (("version", "extra"), "unexpected argument: this command takes only options")]
        for arguments, message in cases:
            with self.subTest(arguments=arguments):
                result = self.run_command(*arguments)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertIn(f"podsession {arguments[0]}: {message}\n", result.stderr)

    def test_run_rejects_both_sources(self):
        result = self.run_command("run", "--sessions-dir", self.sessions.path,
                                  "--kubeconfig", self.sessions.file("kubeconfig"))
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("pass either --sessions-dir (directory mode) or --kubeconfig", result.stderr)
        self.assertIn("Run `podsession run --help` for the options.", result.stderr)

    def test_short_create_settle_warns(self):
        process = subprocess.Popen(
            [PODSESSION, "run", "--sessions-dir", self.sessions.path, "--provider", "simulated",
             "--listen", "127.0.0.1:0", "--create-settle", "0s", "--poll-interval", "1s"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True)
        # A hung controller is killed, which ends the reads below.
        watchdog = threading.Timer(20, process.kill)
        watchdog.start()
        try:
            first_lines = [process.stderr.readline() for _ in range(3)]
        finally:
            watchdog.cancel()
            process.terminate()
            process.wait(timeout=30)
            process.stderr.close()
        warning = [line for line in first_lines if "--create-settle is shorter" in line]
        self.assertEqual(len(warning), 1, first_lines)
        self.assertIn("create_settle=0s poll_interval=1s", warning[0])

    def test_version_flag(self):
        result = self.run_command("--version")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout, r"^podsession \d+\.\d+\.\d+")


if __name__ == "__main__":
    unittest.main()
