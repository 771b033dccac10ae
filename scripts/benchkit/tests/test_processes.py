import sys
import tempfile
import unittest
from pathlib import Path

from benchkit.processes import Processes, run_client, run_clients


class ClientRunTests(unittest.TestCase):
    """Real child processes (a Python interpreter each, a fraction of a second): wait4's figures reach ClientRun."""

    def test_peak_rss_and_output_of_one_client(self):
        with tempfile.TemporaryDirectory() as work:
            procs = Processes()
            run = run_client(procs, [sys.executable, "-c", "x = bytearray(64 << 20); x[::4096] = b'1' * (16 << 10); "
                                     "print('done')"], Path(work))
        self.assertEqual((run.status, run.stdout), (0, "done\n"))
        self.assertGreaterEqual(run.max_rss_kib, 64 << 10)  # ru_maxrss is in KiB on Linux
        self.assertGreater(run.cpu, 0)
        self.assertEqual(procs.live, [])

    def test_several_clients_report_the_largest_peak_and_the_worst_status(self):
        with tempfile.TemporaryDirectory() as work:
            touch_48_mib = "x = bytearray(48 << 20); x[::4096] = b'1' * (12 << 10)"
            run = run_clients(Processes(), [[sys.executable, "-c", touch_48_mib],
                                            [sys.executable, "-c", "raise SystemExit(3)"]], Path(work))
        self.assertEqual(run.status, 3)
        self.assertGreaterEqual(run.max_rss_kib, 48 << 10)

    def test_the_peak_is_the_clients_not_the_bench_processs(self):
        # The bench process holds 192 MiB; the client touches 8. wait4's ru_maxrss said at least 192 (the high-water
        # mark of the address space the client was vforked from); the figure must be the client's own.
        held = bytearray(192 << 20)
        held[::4096] = b"1" * (48 << 10)
        with tempfile.TemporaryDirectory() as work:
            run = run_client(Processes(), [sys.executable, "-c", "x = bytearray(8 << 20); x[::4096] = b'1' * (2 << 10)"],
                             Path(work))
        self.assertEqual(run.status, 0)
        self.assertGreaterEqual(run.max_rss_kib, 8 << 10)
        self.assertLess(run.max_rss_kib, 96 << 10, "the client's own peak, not the bench's")
        del held


if __name__ == "__main__":
    unittest.main()
