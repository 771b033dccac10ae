import shlex
import tempfile
import types
import unittest
from pathlib import Path

from benchkit.files import Tree
from benchkit.sections.small_files import PAIRS, TOOLS, scaling_directories, summarize_scaling, summarize_trees
from benchkit.tools import ssh_tree_command


class RecordingBench:
    """What the summaries use of Bench: row()."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def row(self, section, measurement, unit, ferry, peer, **kwargs) -> None:
        self.rows.append(dict(section=section, measurement=measurement, unit=unit, ferry=ferry, peer=peer, **kwargs))


def tree_entry(tool: str, files_per_s: float, run: int = 1) -> dict:
    return {"tool": tool, "run": run, "files_per_s": files_per_s, "mb_per_s": files_per_s * 4096 / 1e6,
            "server_us_per_file": 100.0, "client_us_per_file": 50.0, "foreign_pct": 2.0}


class TreeSummaryTests(unittest.TestCase):
    def summarize(self, size: int, rates: dict[str, float]) -> list[dict]:
        bench = RecordingBench()
        tree = Tree(Path("/w/trees/t"), 5_000, size, 10)
        summarize_trees(bench, tree, "ext4", [tree_entry(tool, rate) for tool, rate in rates.items()])
        return bench.rows

    def test_the_targets_at_4_kib(self):
        rows = self.summarize(4096, {"ferry": 3000, "ferry-j1": 900, "ferry-fsync": 1000, "ferry-noindex": 3300,
                                     "rsync": 2000, "scp": 1200, "sftp": 1500})
        files = [r for r in rows if r["unit"] == "files/s" and "index off" not in r["measurement"]]
        self.assertEqual([(r["measurement"], r["ratio"], r["target"], r["met"]) for r in files], [
            ("5,000 × 4 KiB → ext4: files/s, ferry -j8 vs rsync -a", 1.5, "≥ 1.2× rsync", True),
            ("5,000 × 4 KiB → ext4: files/s, ferry -j8 vs scp -r", 2.5, "≥ 3× scp", False),
            ("5,000 × 4 KiB → ext4: files/s, ferry -j8 vs sftp put -r", 2.0, "", None),
            ("5,000 × 4 KiB → ext4: files/s, ferry -j1 vs rsync -a", 0.45, "", None),
            ("5,000 × 4 KiB → ext4: files/s, ferry -j8 fsync=true vs rsync -a", 0.5, "", None),
        ])

    def test_the_target_at_1_mib_is_against_rsync_only(self):
        rows = self.summarize(1 << 20, {tool: 100.0 for tool in TOOLS})
        self.assertEqual([(r["target"], r["met"]) for r in rows if r.get("target")], [("≥ 1.5× rsync", False)])

    def test_the_index_on_against_off(self):
        rows = self.summarize(4096, {"ferry": 3000, "ferry-j1": 900, "ferry-fsync": 1000, "ferry-noindex": 3300,
                                     "rsync": 2000, "scp": 1200, "sftp": 1500})
        index = [r for r in rows if "index" in r["measurement"]]
        self.assertEqual([(r["measurement"], r["ratio"]) for r in index], [
            ("5,000 × 4 KiB → ext4: files/s, ferry -j8 vs ferry -j8 index off", 3000 / 3300),
            ("5,000 × 4 KiB → ext4: server CPU µs/file, ferryd (index on) vs ferryd (index off)", 1.0),
        ])

    def test_every_tool_has_its_rate_and_cpu_on_each_side(self):
        rows = self.summarize(4096, {tool: 100.0 for tool in TOOLS})
        self.assertEqual([r["unit"] for r in rows],
                         ["files/s"] * len(PAIRS) + ["MB/s", "files/s", "µs/file"] + ["µs/file"] * 2 * len(PAIRS))
        named = " ".join(r["measurement"] for r in rows)
        for label in ("ferry -j8", "ferry -j1", "fsync=true", "rsync", "scp", "sftp", "server CPU", "client CPU"):
            self.assertIn(label, named)
        server = [r for r in rows if "server CPU" in r["measurement"] and "index" not in r["measurement"]]
        self.assertEqual(server[0]["measurement"], "5,000 × 4 KiB → ext4: server CPU µs/file, ferryd (ferry -j8) vs "
                                                   "sshd (rsync)")
        self.assertEqual((server[0]["ferry"], server[0]["peer"], server[0]["ratio"]), ([100.0], [100.0], 1.0))
        self.assertTrue(all(r["foreign"] == [2.0] * len(TOOLS) for r in rows))


class ScalingTests(unittest.TestCase):
    def test_directories_of_a_scaling_tree(self):
        self.assertEqual([scaling_directories(n) for n in (1, 1_000, 1_001, 10_000, 100_000)], [1, 1, 2, 10, 100])

    def test_flat_and_not_flat(self):
        def entries(per_file_at_100k: float) -> list[dict]:
            return [{"files": count, "run": 1, "files_per_s": 5_000.0, "client_us_per_file": us,
                     "client_max_rss_kib": rss, "foreign_pct": 0.0}
                    for count, us, rss in [(10_000, 40.0, 20_000), (50_000, 41.0, 40_000),
                                           (100_000, per_file_at_100k, 65_000)]]
        for per_file, met in ((44.0, True), (400.0, False)):
            bench = RecordingBench()
            summarize_scaling(bench, [10_000, 50_000, 100_000], entries(per_file))
            flat = bench.rows[-2]
            self.assertEqual((flat["ratio"], flat["met"], flat["target"]), (per_file / 40.0, met, "≤ 1.25× (flat)"))
            self.assertEqual(flat["peer_name"], "N = 10,000")
        self.assertEqual(len(bench.rows), 3 * 3 + 2)
        self.assertEqual(bench.rows[2]["measurement"], "same, N = 10,000: client peak RSS")
        self.assertEqual(bench.rows[2]["ferry"], [20_000 / 1024])
        self.assertEqual(bench.rows[-1]["ferry"], [0.5])  # (65,000 − 20,000) KiB / 90,000 files


class SshTreeCommandTests(unittest.TestCase):
    def setUp(self) -> None:
        self.directory = tempfile.TemporaryDirectory()
        work = Path(self.directory.name)
        sshd = types.SimpleNamespace(client_options=lambda port_option="-P": ["-F", "/dev/null", port_option, "2222"])
        self.bench = types.SimpleNamespace(work=work, ssh=lambda: sshd)
        self.tree = Tree(Path("/w/trees/tree-500x4096"), 500, 4096, 10)

    def tearDown(self) -> None:
        self.directory.cleanup()

    def test_rsync_passes_ssh_its_options_with_a_lower_case_port_option(self):
        command = ssh_tree_command(self.bench, "rsync", self.tree, Path("/dev/shm/x/ssh-dest"))
        self.assertEqual(command[:3], ["/usr/bin/rsync", "-a", "-e"])
        self.assertEqual(shlex.split(command[3]), ["ssh", "-F", "/dev/null", "-p", "2222"])
        self.assertEqual(command[4:], ["--rsync-path=/usr/bin/rsync", "/w/trees/tree-500x4096",
                                       "root@127.0.0.1:/dev/shm/x/ssh-dest/"])

    def test_scp_copies_the_directory_recursively(self):
        self.assertEqual(ssh_tree_command(self.bench, "scp", self.tree, Path("/d")),
                         ["scp", "-q", "-r", "-F", "/dev/null", "-P", "2222", "/w/trees/tree-500x4096",
                          "root@127.0.0.1:/d/"])

    def test_sftp_puts_the_directory_from_a_batch(self):
        command = ssh_tree_command(self.bench, "sftp", self.tree, Path("/d"))
        self.assertEqual(command[:6], ["sftp", "-q", "-F", "/dev/null", "-P", "2222"])
        self.assertEqual(Path(command[7]).read_text(), 'put -r "/w/trees/tree-500x4096" "/d/"\n')

    def test_an_unknown_tool(self):
        with self.assertRaises(ValueError):
            ssh_tree_command(self.bench, "ftp", self.tree, Path("/d"))


if __name__ == "__main__":
    unittest.main()
