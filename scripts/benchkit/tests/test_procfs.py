import unittest

from benchkit.procfs import busy_cores, count_listening, cpu_line_ticks, cpu_ticks, descendants_in, stat_fields, \
    table_entry

# /proc/PID/stat of a process whose command name holds a space and a ')': utime 150, stime 50, cutime 30, cstime 20,
# starttime 32888, ppid 10348.
STAT = ("10354 (Web Content) x) S 10348 10348 5546 0 -1 4194304 99 0 0 0 150 50 30 20 20 0 1 0 32888 3133440 383 "
        "18446744073709551615 94815903703040 94815903722921 140732481327072 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n")

# /proc/net/tcp: 127.0.0.1:20000 (0x4E20) listening twice (SO_REUSEPORT) and once established, 0.0.0.0:20000
# listening, 127.0.0.1:20001 listening.
NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:4E20 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1362 1 000000001dc1a004 100 0 0 10 0
   1: 0100007F:4E20 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1363 1 000000001dc1a005 100 0 0 10 0
   2: 0100007F:4E20 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 1364 1 000000001dc1a006 20 4 30 10 -1
   3: 00000000:4E20 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1365 1 000000001dc1a007 100 0 0 10 0
   4: 0100007F:4E21 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1366 1 000000001dc1a008 100 0 0 10 0
"""


class StatTests(unittest.TestCase):
    def test_fields_start_after_the_last_parenthesis(self):
        fields = stat_fields(STAT)
        self.assertEqual(fields[0], "S")  # field 3, state
        self.assertEqual(fields[1], "10348")  # field 4, ppid

    def test_cpu_ticks_with_and_without_reaped_children(self):
        fields = stat_fields(STAT)
        self.assertEqual(cpu_ticks(fields), 200)
        self.assertEqual(cpu_ticks(fields, reaped_children=True), 250)

    def test_table_entry_is_ppid_ticks_and_start_time(self):
        self.assertEqual(table_entry(stat_fields(STAT)), (10348, 200, 32888))

    def test_a_line_without_a_command_name_raises(self):
        with self.assertRaises(IndexError):  # what process_table skips as "exited meanwhile"
            stat_fields("10354 S 10348")

    def test_a_truncated_line_raises(self):
        with self.assertRaises(IndexError):
            cpu_ticks(stat_fields("10354 (bash) S 1 10354"))


class DescendantsTests(unittest.TestCase):
    def test_children_and_grandchildren_but_not_siblings(self):
        table = {1: (0, 0, 0), 100: (1, 0, 0), 101: (100, 0, 0), 102: (101, 0, 0), 103: (100, 0, 0), 200: (1, 0, 0),
                 201: (200, 0, 0)}
        self.assertEqual(sorted(descendants_in(table, 100)), [101, 102, 103])
        self.assertEqual(descendants_in(table, 102), [])


class MachineStatTests(unittest.TestCase):
    def test_cpu_line_sums_user_to_steal_and_idle_plus_iowait(self):
        total, idle = cpu_line_ticks("cpu  44221 0 6767 13935 451 0 104 195 7 0\n")
        self.assertEqual(total, 44221 + 6767 + 13935 + 451 + 104 + 195)  # guest (7) is inside user already
        self.assertEqual(idle, 13935 + 451)

    def test_busy_cores_between_two_samples(self):
        self.assertAlmostEqual(busy_cores((1000, 600), (1200, 700), nproc=2), 1.0)
        self.assertAlmostEqual(busy_cores((1000, 600), (1200, 800), nproc=2), 0.0)

    def test_a_cpu_line_without_figures_raises(self):
        with self.assertRaises(IndexError):
            cpu_line_ticks("cpu  12 34\n")


class ListeningTests(unittest.TestCase):
    def test_counts_only_listening_sockets_on_loopback_and_that_port(self):
        self.assertEqual(count_listening(NET_TCP, 20000), 2)
        self.assertEqual(count_listening(NET_TCP, 20001), 1)
        self.assertEqual(count_listening(NET_TCP, 20002), 0)

    def test_header_alone_is_no_socket(self):
        self.assertEqual(count_listening(NET_TCP.splitlines()[0] + "\n", 20000), 0)

    def test_a_truncated_line_raises(self):
        with self.assertRaises(IndexError):
            count_listening(NET_TCP + "   5: 0100007F:4E20\n", 20000)


if __name__ == "__main__":
    unittest.main()
