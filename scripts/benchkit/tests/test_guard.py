import os
import unittest
from unittest import mock

from benchkit import guard
from benchkit.guard import ForeignLoad, guarded

ME = os.getpid()
# Far above any real pid, so that the tables below never meet this process's real relatives.
A, B, C, D, CHILD, GRANDCHILD, KTHREAD = (10**9 + n for n in range(7))


class OursTests(unittest.TestCase):
    def test_this_process_and_its_descendants_only(self):
        table = {1: (0, 0, 0), ME: (1, 0, 0), CHILD: (ME, 0, 0), GRANDCHILD: (CHILD, 0, 0), A: (1, 0, 0),
                 B: (A, 0, 0), 2: (0, 0, 0), KTHREAD: (2, 0, 0)}
        self.assertEqual(ForeignLoad._ours(table), {ME, CHILD, GRANDCHILD})

    def test_a_process_whose_parent_left_the_table_is_not_ours(self):
        self.assertEqual(ForeignLoad._ours({ME: (1, 0, 0), B: (A, 0, 0)}), {ME})


class SampleTests(unittest.TestCase):
    """Foreign ticks between two samples: (ppid, utime + stime ticks, start time) per pid; the window opened at 1000."""

    def sample(self, previous: dict, now: dict) -> int:
        load = ForeignLoad()
        load._previous, load._window_start = previous, 1000
        with mock.patch.object(guard, "process_table", return_value=now):
            load._sample()
        self.assertIs(load._previous, now)
        return load.ticks

    def test_a_foreign_process_counts_its_delta(self):
        self.assertEqual(self.sample({A: (1, 100, 500)}, {A: (1, 130, 500)}), 30)

    def test_ours_kthreadd_and_kernel_threads_do_not_count(self):
        previous = {CHILD: (ME, 0, 900), 2: (0, 10, 0), KTHREAD: (2, 10, 0)}
        now = {ME: (1, 0, 0), CHILD: (ME, 400, 900), 2: (0, 60, 0), KTHREAD: (2, 60, 0)}
        self.assertEqual(self.sample(previous, now), 0)

    def test_a_process_started_in_the_window_counts_whole(self):
        self.assertEqual(self.sample({}, {B: (1, 20, 1500)}), 20)

    def test_a_process_started_before_the_window_but_unseen_does_not_count(self):
        self.assertEqual(self.sample({}, {C: (1, 5000, 500)}), 0)

    def test_a_reused_pid_counts_as_a_new_process(self):
        self.assertEqual(self.sample({D: (1, 90, 400)}, {D: (1, 7, 1200)}), 7)

    def test_together(self):
        previous = {A: (1, 100, 500), D: (1, 90, 400), KTHREAD: (2, 0, 0)}
        now = {ME: (1, 0, 0), A: (1, 130, 500), B: (1, 20, 1500), C: (1, 5000, 500), D: (1, 7, 1200),
               KTHREAD: (2, 50, 0)}
        self.assertEqual(self.sample(previous, now), 30 + 20 + 7)


class FakeLoad:
    """Stands in for ForeignLoad: each use reports the next of `percents`."""
    percents: list[float] = []

    def __enter__(self):
        self.percent = FakeLoad.percents.pop(0)
        return self

    def __exit__(self, *exc):
        pass


class GuardedTests(unittest.TestCase):
    def run_guarded(self, percents: list[float]) -> tuple[dict, list[int]]:
        FakeLoad.percents = list(percents)
        attempts = []
        def measure() -> dict:
            attempts.append(len(attempts) + 1)
            return {"seconds": 1.0 + len(attempts)}
        with mock.patch.object(guard, "ForeignLoad", FakeLoad), \
                mock.patch.object(guard, "wait_for_idle", return_value=(2.04, 0.123)), \
                mock.patch.object(guard, "log"):
            return guarded("test", measure), attempts

    def test_a_quiet_run_is_kept(self):
        result, attempts = self.run_guarded([20.0])
        self.assertEqual(attempts, [1])
        self.assertEqual(result, {"seconds": 2.0, "foreign_pct": 20.0, "idle_wait_s": 2.0, "busy_cores_before": 0.12,
                                  "attempt": 1, "discarded": None})

    def test_a_busy_run_is_repeated_once_and_kept_as_discarded(self):
        result, attempts = self.run_guarded([35.0, 5.0])
        self.assertEqual(attempts, [1, 2])
        self.assertEqual((result["seconds"], result["attempt"], result["foreign_pct"]), (3.0, 2, 5.0))
        self.assertEqual((result["discarded"]["seconds"], result["discarded"]["foreign_pct"]), (2.0, 35.0))

    def test_the_repeat_is_kept_however_busy(self):
        result, attempts = self.run_guarded([35.0, 80.0])
        self.assertEqual(attempts, [1, 2])
        self.assertEqual((result["attempt"], result["foreign_pct"]), (2, 80.0))


if __name__ == "__main__":
    unittest.main()
