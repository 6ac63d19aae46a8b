#!/usr/bin/env python3
"""Compiles auth/verifier.hpp on its own, the way an inference server that
copied the one file would, and checks that it includes only the C++ standard
library, the C library and OpenSSL: no Boost, no other project header.

Usage: verifier_header_test.py --compiler PATH --header PATH [unittest arguments]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import unittest

COMPILER = ""
HEADER = ""


class verifier_header(unittest.TestCase):
    def compile_alone(self):
        with tempfile.TemporaryDirectory(prefix="podsession-verifier-") as directory:
            source = os.path.join(directory, "pod.cpp")
            with open(source, "w", encoding="utf-8") as file:
                file.write(f'#include "{HEADER}"\nint main() {{ return 0; }}\n')
            # No -I: a project include would fail to resolve. -H lists every
            # header opened, one per line, prefixed with dots for the depth.
            return subprocess.run(
                [COMPILER, "-std=c++20", "-fsyntax-only", "-H", "-Wall", "-Wextra",
                 "-Wpedantic", "-Werror", "-DOPENSSL_NO_DEPRECATED", source],
                capture_output=True, text=True, timeout=120,
            )

    def test_compiles_without_project_include_path(self):
        result = self.compile_alone()
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_includes_only_std_and_openssl(self):
        result = self.compile_alone()
        included = [
            line.lstrip(".").strip()
            for line in result.stderr.splitlines()
            if line.startswith(".")
        ]
        self.assertTrue(any("/openssl/evp.h" in path for path in included), included[:5])
        project_root = os.path.dirname(os.path.dirname(HEADER))
        for path in included:
            if os.path.realpath(path) == HEADER:
                continue
            with self.subTest(path=path):
                self.assertNotIn("/boost/", path)
                self.assertFalse(path.startswith(project_root), "includes a project header")


def main():
    global COMPILER, HEADER
    parser = argparse.ArgumentParser()
    parser.add_argument("--compiler", required=True)
    parser.add_argument("--header", required=True)
    options, rest = parser.parse_known_args()
    COMPILER = options.compiler
    HEADER = os.path.realpath(options.header)
    unittest.main(argv=[sys.argv[0], *rest])


if __name__ == "__main__":
    main()
