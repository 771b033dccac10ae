import unittest

from benchkit.stats import median_of, median_ratio, paired_cost, paired_per_file_growth, rotated, spread, \
    with_file_rates, with_rates


class RotatedTests(unittest.TestCase):
    def test_each_run_starts_one_tool_later(self):
        tools = ["ferry", "sftp", "scp"]
        self.assertEqual([rotated(tools, run) for run in range(4)],
                         [["ferry", "sftp", "scp"], ["sftp", "scp", "ferry"], ["scp", "ferry", "sftp"],
                          ["ferry", "sftp", "scp"]])
        self.assertEqual(tools, ["ferry", "sftp", "scp"])  # the caller's list is left as it was

    def test_every_tool_leads_equally_often(self):
        tools = ["a", "b", "c", "d", "e"]
        leaders = [rotated(tools, run)[0] for run in range(10)]
        self.assertEqual(sorted(leaders), sorted(tools * 2))


class SpreadTests(unittest.TestCase):
    def test_median_min_max_and_runs_in_order(self):
        self.assertEqual(spread([530.0, 498.0, 512.0]),
                         {"median": 512.0, "min": 498.0, "max": 530.0, "runs": [530.0, 498.0, 512.0]})

    def test_even_count_median_is_the_mean_of_the_middle_two(self):
        self.assertEqual(spread([1.0, 4.0, 2.0, 3.0])["median"], 2.5)

    def test_no_values_is_no_spread(self):
        self.assertIsNone(spread(None))
        self.assertIsNone(spread([]))


class RatioTests(unittest.TestCase):
    def test_median_of_a_key(self):
        self.assertEqual(median_of([{"x": 3}, {"x": 1}, {"x": 10}], "x"), 3)

    def test_ratio_of_medians_not_median_of_ratios(self):
        # medians 200 and 100 (the mean of the first is 233); the runs' own ratios would be 2.0, 4.0 and 1.33
        self.assertEqual(median_ratio([100.0, 400.0, 200.0], [50.0, 100.0, 150.0]), 2.0)

    def test_paired_cost_is_the_median_of_the_pairs_minus_one(self):
        changed = [{"seconds": 10.3}, {"seconds": 20.0}, {"seconds": 10.6}]
        baseline = [{"seconds": 10.0}, {"seconds": 20.0}, {"seconds": 10.0}]
        # pairs 1.03, 1.00, 1.06: median 1.03
        self.assertAlmostEqual(paired_cost(changed, baseline, "seconds"), 0.03)

    def test_paired_cost_differs_from_comparing_medians(self):
        # a slow minute hit both tools in run 2: paired, rotation costs nothing; across medians it looks 50 % dearer
        changed = [{"s": 10.0}, {"s": 30.0}, {"s": 15.0}]
        baseline = [{"s": 10.0}, {"s": 30.0}, {"s": 10.0}]
        self.assertAlmostEqual(paired_cost(changed, baseline, "s"), 0.0)
        self.assertAlmostEqual(median_of(changed, "s") / median_of(baseline, "s") - 1, 0.5)


class WithRatesTests(unittest.TestCase):
    def test_rates_of_an_upload(self):
        entry = with_rates({"bytes": 2 * 10**9, "seconds": 4.0, "client_cpu": 1.0, "server_cpu": 0.5})
        self.assertAlmostEqual(entry["mb_per_s"], 500.0)
        self.assertAlmostEqual(entry["client_cpu_per_gb"], 0.5)
        self.assertAlmostEqual(entry["server_cpu_per_gb"], 0.25)

    def test_a_run_without_a_server_has_no_server_rate(self):
        entry = with_rates({"bytes": 10**9, "seconds": 2.0, "client_cpu": 0.3})
        self.assertAlmostEqual(entry["client_cpu_per_gb"], 0.3)
        self.assertNotIn("server_cpu_per_gb", entry)


class FileRatesTests(unittest.TestCase):
    def test_rates_of_a_tree(self):
        # 5,000 files of 4 KiB in 2.5 s; 0.35 CPU-s on the client, 0.5 on the server
        entry = with_file_rates({"files": 5_000, "bytes": 5_000 * 4096, "seconds": 2.5, "client_cpu": 0.35,
                                 "server_cpu": 0.5})
        self.assertAlmostEqual(entry["files_per_s"], 2_000.0)
        self.assertAlmostEqual(entry["mb_per_s"], 8.192)
        self.assertAlmostEqual(entry["client_us_per_file"], 70.0)
        self.assertAlmostEqual(entry["server_us_per_file"], 100.0)
        self.assertAlmostEqual(entry["client_cpu_per_gb"], 0.35 / 0.02048)

    def test_a_run_without_a_server_has_no_server_figure(self):
        entry = with_file_rates({"files": 10, "bytes": 10, "seconds": 1.0, "client_cpu": 0.001})
        self.assertAlmostEqual(entry["client_us_per_file"], 100.0)
        self.assertNotIn("server_us_per_file", entry)


class PerFileGrowthTests(unittest.TestCase):
    def test_growth_per_added_file_paired_by_run(self):
        large = [{"files": 100_000, "rss": 60_000}, {"files": 100_000, "rss": 62_000}]
        small = [{"files": 10_000, "rss": 15_000}, {"files": 10_000, "rss": 8_000}]
        # run 1: 45,000 KiB over 90,000 files; run 2: 54,000 KiB over 90,000 files
        self.assertEqual(paired_per_file_growth(large, small, "rss"), [0.5, 0.6])

    def test_no_growth_is_zero(self):
        self.assertEqual(paired_per_file_growth([{"files": 4, "x": 7}], [{"files": 1, "x": 7}], "x"), [0.0])


if __name__ == "__main__":
    unittest.main()
