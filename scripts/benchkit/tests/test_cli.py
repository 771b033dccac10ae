import contextlib
import io
import unittest
from pathlib import Path

from benchkit.cli import parse_arguments

DOC = "Ferry side by side with OpenSSH.\n\nWhat it measures…"


class ArgumentTests(unittest.TestCase):
    def parse_error(self, argv: list[str]) -> str:
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr), self.assertRaises(SystemExit):
            parse_arguments(DOC, argv)
        return stderr.getvalue()

    def test_defaults(self):
        args = parse_arguments(DOC, [])
        self.assertEqual(args.sections, ["1", "2", "3", "4", "5a", "5b", "6", "7", "8", "9", "10"])
        self.assertEqual((args.runs, args.quick, args.keep, args.ext4_dir), (3, False, False, "/var/tmp"))
        self.assertEqual(args.json, Path("bench-results.json").resolve())

    def test_five_is_5a_and_5b_and_repeats_are_dropped(self):
        self.assertEqual(parse_arguments(DOC, ["--sections", " 4,5b, 5 ,4"]).sections, ["4", "5b", "5a"])

    def test_unknown_section(self):
        self.assertIn("unknown section '11'", self.parse_error(["--sections", "1,11"]))

    def test_section_8_alone(self):
        self.assertEqual(parse_arguments(DOC, ["--sections", "8", "--quick", "--runs", "1"]).sections, ["8"])

    def test_runs_at_least_one(self):
        self.assertIn("--runs must be at least 1", self.parse_error(["--runs", "0"]))

    def test_help_is_the_first_paragraph(self):
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout), self.assertRaises(SystemExit):
            parse_arguments(DOC, ["--help"])
        self.assertIn("Ferry side by side with OpenSSH.", stdout.getvalue())
        self.assertNotIn("What it measures", stdout.getvalue())


if __name__ == "__main__":
    unittest.main()
