import argparse
import json
import tempfile
import types
import unittest
from pathlib import Path
from unittest import mock

from benchkit import report
from benchkit.report import format_spread, format_value, table_lines, table_notes, write_json
from benchkit.settings import QUICK
from benchkit.stats import spread

ORDER = ["1", "2", "3", "4", "5a", "5b"]


def row(section: str, measurement: str, ferry, peer=None, ratio=None, target="", met=None, foreign=None) -> dict:
    return {"section": section, "measurement": measurement, "unit": "", "ferry": spread(ferry), "peer": spread(peer),
            "peer_name": "", "ratio": ratio, "target": target, "met": met, "foreign_pct_max": foreign}


class FormatTests(unittest.TestCase):
    def test_three_significant_figures_or_so(self):
        self.assertEqual(format_value(1234.6), "1235")
        self.assertEqual(format_value(100.0), "100")
        self.assertEqual(format_value(45.67), "45.7")
        self.assertEqual(format_value(3.14159), "3.14")
        self.assertEqual(format_value(-150.2), "-150")
        self.assertEqual(format_value(-0.5), "-0.50")

    def test_spread_of_one_run_is_its_value(self):
        self.assertEqual(format_spread(spread([512.4])), "512")

    def test_spread_of_several_runs_is_median_and_range(self):
        self.assertEqual(format_spread(spread([6.03, 5.9, 6.2])), "6.03 (5.90–6.20)")

    def test_no_spread_is_a_dash(self):
        self.assertEqual(format_spread(None), "—")


class TableTests(unittest.TestCase):
    def test_exact_lines_of_a_one_row_table(self):
        lines = table_lines([row("4", "m", [6.0])], {}, ORDER)
        self.assertEqual(lines, [
            "sec | measurement | Ferry median (min–max) | peer median (min–max) | ratio | target | met | fgn%",
            "--- | ----------- | ---------------------- | --------------------- | ----- | ------ | --- | ----",
            "4   | m           | 6.00                   | —                     | —     | —      | —   | —",
        ])

    def test_cells_sections_in_order_and_failures_in_their_place(self):
        rows = [row("4", "ferryd RSS per idle authenticated session, KiB", [6.03, 5.9, 6.2], target="≤ 16 KiB",
                    met=True, foreign=3.2),
                row("1", "1 upload of 256 MiB → ext4: MB/s, ferry vs sftp", [512.4], [230.0], ratio=512.4 / 230,
                    target="≥ 2× sftp", met=True, foreign=12.6),
                row("1", "server CPU-s/GB → ext4: ferryd vs sshd (sftp)", [0.91], [1.7], ratio=0.91 / 1.7,
                    target="ferryd ≤ 0.8", met=False, foreign=12.6)]
        errors = {"3": "RuntimeError: openssl s_server exited (1):\nbind: Address already in use"}
        lines = table_lines(rows, errors, ORDER)
        cells = [[cell.strip() for cell in line.split("|")] for line in lines[2:]]
        self.assertEqual(cells, [
            ["1", "1 upload of 256 MiB → ext4: MB/s, ferry vs sftp", "512", "230", "2.23×", "≥ 2× sftp", "yes", "13"],
            ["1", "server CPU-s/GB → ext4: ferryd vs sshd (sftp)", "0.91", "1.70", "0.54×", "ferryd ≤ 0.8", "NO", "13"],
            ["3", "FAILED: RuntimeError: openssl s_server exited (1):", "", "", "", "", "", ""],
            ["4", "ferryd RSS per idle authenticated session, KiB", "6.03 (5.90–6.20)", "—", "—", "≤ 16 KiB", "yes",
             "3"],
        ])
        # every column starts at the same place on every line
        bars = {tuple(i for i, c in enumerate(line) if c == "|") for line in lines}
        self.assertEqual(len(bars), 1)
        self.assertEqual(len(bars.pop()), 7)

    def test_a_long_error_is_cut_to_its_first_line_and_100_characters(self):
        lines = table_lines([], {"2": "TimeoutError: " + "x" * 200 + "\nsecond line"}, ORDER)
        self.assertEqual(lines[2].split("|")[1].strip(), "FAILED: " + ("TimeoutError: " + "x" * 200)[:100])

    def test_an_empty_table_is_its_heading(self):
        self.assertEqual(len(table_lines([], {}, ORDER)), 2)


class NotesTests(unittest.TestCase):
    def test_the_bench_notes_come_last(self):
        notes = table_notes(types.SimpleNamespace(notes=["this ferryd does not know [storage] fsync yet"]))
        self.assertEqual(notes[-1], "this ferryd does not know [storage] fsync yet")
        self.assertIn("a run over 20 % was repeated once", notes[-2])


class JsonTests(unittest.TestCase):
    def test_the_document_schema(self):
        args = argparse.Namespace(runs=1, sections=["4"], quick=True, json=Path("/tmp/out.json"), ext4_dir="/var/tmp",
                                  keep=False)
        bench = types.SimpleNamespace(args=args, sizes=QUICK, filesystems={"ext4": {"type": "ext4"}}, fsync_key=True,
                                      rows=[row("4", "RSS → KiB", [6.0])], raw={"4": [{"run": 1, "kib_per_session": 6.0}]},
                                      errors={"5b": "skipped"}, notes=[])
        header = {"date": "2026-01-01T00:00:00+00:00", "machine": {"nproc": 2}, "ferry": {"commit": "abc"},
                  "tools": {"openssh": "OpenSSH_9.2p1"}, "finished": "2026-01-01T00:01:00+00:00"}
        with tempfile.TemporaryDirectory() as directory, mock.patch.object(report, "log"):
            path = Path(directory) / "bench.json"
            write_json(bench, header, path)
            text = path.read_text()
        document = json.loads(text)
        self.assertEqual(list(document), ["date", "machine", "ferry", "tools", "finished", "options", "sizes",
                                          "filesystems", "fsync_key", "summary", "raw", "errors", "notes"])
        self.assertEqual(document["options"]["json"], "/tmp/out.json")
        self.assertEqual(document["sizes"]["upload"], 256 << 20)
        self.assertEqual(document["summary"][0]["ferry"], {"median": 6.0, "min": 6.0, "max": 6.0, "runs": [6.0]})
        self.assertEqual(document["raw"]["4"][0]["kib_per_session"], 6.0)
        self.assertEqual(len(document["notes"]), 5)
        self.assertIn("RSS → KiB", text)  # not escaped as \u2192
        self.assertTrue(text.endswith("}\n"))


if __name__ == "__main__":
    unittest.main()
