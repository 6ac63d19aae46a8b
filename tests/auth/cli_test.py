#!/usr/bin/env python3
"""Process tests of `podsession sign` and `podsession verify` through the built
binary: the ExAtlas vectors, exit codes, messages and secret handling.

Usage: cli_test.py --podsession PATH --vectors PATH [unittest arguments]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

PODSESSION = ""
VECTORS: dict = {}

# Distinctive, so that any echo of it in an output is found.
SECRET = "cli-test-secret-5b1d7e0c9a"
SECRET_ENV = "PODSESSION_CLI_TEST_SECRET"


class command_test(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory(prefix="podsession-cli-")
        self.addCleanup(self.directory.cleanup)

    def write_secret(self, content, name="secret", mode=0o600):
        path = os.path.join(self.directory.name, name)
        with open(path, "w", encoding="utf-8") as file:
            file.write(content)
        os.chmod(path, mode)
        return path

    def run_command(self, *args, env=None):
        """Runs podsession and checks that no secret reached its output."""
        environment = {key: value for key, value in os.environ.items() if key != SECRET_ENV}
        environment.update(env or {})
        result = subprocess.run(
            [PODSESSION, *args], capture_output=True, text=True, timeout=30, env=environment
        )
        for secret in (SECRET, VECTORS["secret"]):
            self.assertNotIn(secret, result.stdout, f"secret in stdout of {args}")
            self.assertNotIn(secret, result.stderr, f"secret in stderr of {args}")
        return result


class sign_command(command_test):
    def test_vectors_match_exatlas(self):
        secret_file = self.write_secret(VECTORS["secret"] + "\n")
        for vector in VECTORS["vectors"]:
            with self.subTest(url=vector["url"]):
                result = self.run_command(
                    "sign", vector["url"], "--secret-file", secret_file,
                    "--now", str(VECTORS["now"]), "--expires-in", str(VECTORS["expires_in"]),
                )
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertEqual(result.stdout, vector["signed"] + "\n")
                self.assertEqual(result.stderr, "")

    def sign_with_file(self, content):
        result = self.run_command(
            "sign", "https://x.test/a", "--secret-file", self.write_secret(content),
            "--now", "1747000000",
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout

    def test_one_trailing_newline_is_stripped(self):
        bare = self.sign_with_file(SECRET)
        self.assertEqual(self.sign_with_file(SECRET + "\n"), bare)
        self.assertNotEqual(self.sign_with_file(SECRET + "\n\n"), bare)
        self.assertNotEqual(self.sign_with_file(" " + SECRET), bare)

    def test_secret_env_matches_secret_file(self):
        from_env = self.run_command(
            "sign", "https://x.test/a", "--secret-env", SECRET_ENV, "--now", "1747000000",
            env={SECRET_ENV: SECRET},
        )
        self.assertEqual(from_env.returncode, 0, from_env.stderr)
        self.assertEqual(from_env.stdout, self.sign_with_file(SECRET + "\n"))

    def test_missing_secret_file_names_path_and_fix(self):
        path = os.path.join(self.directory.name, "no-such-secret")
        result = self.run_command("sign", "https://x.test/a", "--secret-file", path)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stdout, "")
        self.assertIn(f'"{path}"', result.stderr)
        self.assertIn("No such file or directory", result.stderr)
        self.assertIn("--secret-env", result.stderr)

    def test_empty_secret_file(self):
        for content in ("", "\n"):
            with self.subTest(content=content):
                result = self.run_command(
                    "sign", "https://x.test/a", "--secret-file", self.write_secret(content)
                )
                self.assertEqual(result.returncode, 2)
                self.assertIn("is empty", result.stderr)

    def test_directory_as_secret_file(self):
        result = self.run_command("sign", "https://x.test/a", "--secret-file", self.directory.name)
        self.assertEqual(result.returncode, 2)
        self.assertIn("Is a directory", result.stderr)

    def test_secret_source_required(self):
        result = self.run_command("sign", "https://x.test/a")
        self.assertEqual(result.returncode, 2)
        self.assertIn("--secret-file", result.stderr)
        self.assertIn("--secret-env", result.stderr)

    def test_both_secret_sources_rejected(self):
        result = self.run_command(
            "sign", "https://x.test/a", "--secret-file", self.write_secret(SECRET),
            "--secret-env", SECRET_ENV, env={SECRET_ENV: SECRET},
        )
        self.assertEqual(result.returncode, 2)
        self.assertIn("only one", result.stderr)

    def test_unset_secret_env_names_variable(self):
        result = self.run_command("sign", "https://x.test/a", "--secret-env", SECRET_ENV)
        self.assertEqual(result.returncode, 2)
        self.assertIn(SECRET_ENV, result.stderr)
        self.assertIn("not set", result.stderr)

    def test_secret_as_argument_is_rejected_unechoed(self):
        result = self.run_command("sign", "https://x.test/a", SECRET)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stdout, "")

    def test_invalid_url(self):
        secret_file = self.write_secret(SECRET)
        for url in ("x.test/a", "https://x.test/a?q=%zz"):
            with self.subTest(url=url):
                result = self.run_command("sign", url, "--secret-file", secret_file)
                self.assertEqual(result.returncode, 2)
                self.assertIn("invalid URL", result.stderr)
        # Every command rejects an empty operand before looking at it.
        result = self.run_command("sign", "", "--secret-file", secret_file)
        self.assertEqual(result.returncode, 2)
        self.assertIn("empty URL argument", result.stderr)

    def test_missing_url(self):
        result = self.run_command("sign", "--secret-file", self.write_secret(SECRET))
        self.assertEqual(result.returncode, 2)
        self.assertIn("missing URL", result.stderr)

    def test_help_lists_options(self):
        result = self.run_command("sign", "--help")
        self.assertEqual(result.returncode, 0)
        for option in ("--secret-file", "--secret-env", "--expires-in", "--now"):
            self.assertIn(option, result.stdout)

    def test_readable_secret_file_warns(self):
        result = self.run_command(
            "sign", "https://x.test/a", "--secret-file", self.write_secret(SECRET, mode=0o644)
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("readable by other users", result.stderr)
        self.assertIn("chmod 600", result.stderr)

    def test_private_secret_file_does_not_warn(self):
        result = self.run_command(
            "sign", "https://x.test/a", "--secret-file", self.write_secret(SECRET, mode=0o600)
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, "")

    def test_default_expiry_is_one_hour_from_clock(self):
        before = int(time.time())
        result = self.run_command(
            "sign", "https://x.test/a", "--secret-file", self.write_secret(SECRET)
        )
        after = int(time.time())
        self.assertEqual(result.returncode, 0, result.stderr)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(result.stdout.strip()).query)
        expiry = int(query["exp"][0])
        self.assertGreaterEqual(expiry, before + 3600)
        self.assertLessEqual(expiry, after + 3600)

    def test_expires_in_out_of_range(self):
        result = self.run_command(
            "sign", "https://x.test/a", "--secret-file", self.write_secret(SECRET),
            "--now", "9223372036854775000", "--expires-in", "3600",
        )
        self.assertEqual(result.returncode, 2)
        self.assertIn("--expires-in", result.stderr)

    def test_expires_in_takes_units_like_other_durations(self):
        secret_file = self.write_secret(SECRET)
        for given, seconds in (("90", 90), ("90s", 90), ("15m", 900), ("1h30m", 5400),
                               ("-60s", -60)):
            with self.subTest(expires_in=given):
                result = self.run_command("sign", "https://x.test/a", "--secret-file",
                                          secret_file, "--now", "1000", f"--expires-in={given}")
                self.assertEqual(result.returncode, 0, result.stderr)
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(result.stdout.strip()).query)
                self.assertEqual(int(query["exp"][0]), 1000 + seconds)
        for given in ("1.5h", "1500ms", "soon", ""):
            with self.subTest(expires_in=given):
                result = self.run_command("sign", "https://x.test/a", "--secret-file",
                                          secret_file, f"--expires-in={given}")
                self.assertEqual(result.returncode, 2)
                self.assertIn("--expires-in", result.stderr)


class verify_command(command_test):
    def test_verify_cases(self):
        secret_file = self.write_secret(VECTORS["secret"] + "\n")
        for case in VECTORS["verify_cases"]:
            with self.subTest(url=case["url"], now=case["now"]):
                result = self.run_command(
                    "verify", case["url"], "--secret-file", secret_file, "--now", str(case["now"])
                )
                self.assertEqual(result.stdout, case["expect"] + "\n")
                self.assertEqual(result.returncode, 0 if case["expect"] == "ok" else 1)
                if case["expect"] != "ok":
                    self.assertIn("URL rejected", result.stderr)

    def test_round_trip_on_clock(self):
        secret_file = self.write_secret(SECRET)
        url = "https://x.test/media/clip.mp4?q=hello world&name=Zoë&a=1&a=2#t=10"
        signed = self.run_command("sign", url, "--secret-file", secret_file)
        self.assertEqual(signed.returncode, 0, signed.stderr)

        verified = self.run_command("verify", signed.stdout.strip(), "--secret-file", secret_file)
        self.assertEqual(verified.returncode, 0, verified.stderr)
        self.assertEqual(verified.stdout, "ok\n")

    def test_past_expiry_is_expired(self):
        secret_file = self.write_secret(SECRET)
        signed = self.run_command(
            "sign", "https://x.test/a", "--secret-file", secret_file, "--expires-in=-60"
        )
        self.assertEqual(signed.returncode, 0, signed.stderr)

        verified = self.run_command("verify", signed.stdout.strip(), "--secret-file", secret_file)
        self.assertEqual(verified.returncode, 1)
        self.assertEqual(verified.stdout, "expired\n")

    def test_tampered_url_is_bad_signature(self):
        secret_file = self.write_secret(SECRET)
        signed = self.run_command("sign", "https://x.test/a?user=42", "--secret-file", secret_file)
        tampered = signed.stdout.strip().replace("user=42", "user=43")

        verified = self.run_command("verify", tampered, "--secret-file", secret_file)
        self.assertEqual(verified.returncode, 1)
        self.assertEqual(verified.stdout, "bad_signature\n")

    def test_other_secret_is_bad_signature(self):
        signed = self.run_command(
            "sign", "https://x.test/a", "--secret-file", self.write_secret(SECRET, name="one")
        )
        verified = self.run_command(
            "verify", signed.stdout.strip(),
            "--secret-file", self.write_secret(SECRET + "-other", name="two"),
        )
        self.assertEqual(verified.returncode, 1)
        self.assertEqual(verified.stdout, "bad_signature\n")

    def test_missing_secret_file_exits_2(self):
        path = os.path.join(self.directory.name, "absent")
        result = self.run_command("verify", VECTORS["vectors"][0]["signed"], "--secret-file", path)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stdout, "")
        self.assertIn(f'"{path}"', result.stderr)

    def test_help_lists_exit_statuses(self):
        result = self.run_command("verify", "--help")
        self.assertEqual(result.returncode, 0)
        self.assertIn("Exits 0 for ok, 1 for a rejected URL", result.stdout)


def main():
    global PODSESSION, VECTORS
    parser = argparse.ArgumentParser()
    parser.add_argument("--podsession", required=True)
    parser.add_argument("--vectors", required=True)
    options, rest = parser.parse_known_args()
    PODSESSION = options.podsession
    with open(options.vectors, encoding="utf-8") as file:
        VECTORS = json.load(file)
    unittest.main(argv=[sys.argv[0], *rest])


if __name__ == "__main__":
    main()
