import unittest

from benchkit.units import GiB, KiB, MiB, cpu_per_gb, files_per_second, human_bytes, mb_per_second, \
    micros_per_file


class HumanBytesTests(unittest.TestCase):
    def test_whole_gibibytes_and_mebibytes(self):
        self.assertEqual(human_bytes(2 * GiB), "2 GiB")
        self.assertEqual(human_bytes(256 * MiB), "256 MiB")

    def test_a_size_that_is_not_whole_gib_falls_back_to_mib(self):
        self.assertEqual(human_bytes(1536 * MiB), "1536 MiB")

    def test_whole_kibibytes(self):
        self.assertEqual(human_bytes(4 * KiB), "4 KiB")
        self.assertEqual(human_bytes(KiB), "1 KiB")
        self.assertEqual(human_bytes(1536 * KiB), "1536 KiB")

    def test_a_size_that_is_not_whole_kib_is_in_bytes(self):
        self.assertEqual(human_bytes(GiB + 1), "1073741825 B")
        self.assertEqual(human_bytes(0), "0 B")


class RateTests(unittest.TestCase):
    def test_mb_per_second_uses_decimal_megabytes(self):
        self.assertAlmostEqual(mb_per_second(256 * MiB, 0.5), 536.870912)
        self.assertAlmostEqual(mb_per_second(2 * 10**9, 4.0), 500.0)

    def test_cpu_per_gb_uses_decimal_gigabytes(self):
        self.assertAlmostEqual(cpu_per_gb(0.8, 2 * 10**9), 0.4)
        self.assertAlmostEqual(cpu_per_gb(1.0, 2 * GiB), 1 / 2.147483648)

    def test_files_per_second(self):
        self.assertAlmostEqual(files_per_second(5_000, 2.5), 2_000.0)

    def test_micros_per_file(self):
        # 0.35 CPU-s over 5,000 files: 70 µs each
        self.assertAlmostEqual(micros_per_file(0.35, 5_000), 70.0)
        self.assertAlmostEqual(micros_per_file(1.0, 100_000), 10.0)


if __name__ == "__main__":
    unittest.main()
