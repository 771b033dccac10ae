import unittest

from benchkit.units import GiB, MiB, cpu_per_gb, human_bytes, mb_per_second


class HumanBytesTests(unittest.TestCase):
    def test_whole_gibibytes_and_mebibytes(self):
        self.assertEqual(human_bytes(2 * GiB), "2 GiB")
        self.assertEqual(human_bytes(256 * MiB), "256 MiB")

    def test_a_size_that_is_not_whole_gib_falls_back_to_mib(self):
        self.assertEqual(human_bytes(1536 * MiB), "1536 MiB")

    def test_a_size_that_is_not_whole_mib_is_in_bytes(self):
        self.assertEqual(human_bytes(GiB + 1), "1073741825 B")
        self.assertEqual(human_bytes(0), "0 B")


class RateTests(unittest.TestCase):
    def test_mb_per_second_uses_decimal_megabytes(self):
        self.assertAlmostEqual(mb_per_second(256 * MiB, 0.5), 536.870912)
        self.assertAlmostEqual(mb_per_second(2 * 10**9, 4.0), 500.0)

    def test_cpu_per_gb_uses_decimal_gigabytes(self):
        self.assertAlmostEqual(cpu_per_gb(0.8, 2 * 10**9), 0.4)
        self.assertAlmostEqual(cpu_per_gb(1.0, 2 * GiB), 1 / 2.147483648)


if __name__ == "__main__":
    unittest.main()
