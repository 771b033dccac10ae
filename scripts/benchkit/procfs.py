"""/proc: a process's CPU time, the process table, the machine's busy cores, listening TCP sockets.

Each reader is a parser of the file's text and a read, so that the parsers can be tested on sample text."""
from __future__ import annotations

import os
import time

from .settings import NPROC

CLK_TCK = os.sysconf("SC_CLK_TCK")


def stat_fields(text: str) -> list[str]:
    """Fields of a /proc/PID/stat line from field 3 (state) on; the command name may contain spaces, so split after
    ')'."""
    return text.rsplit(")", 1)[1].split()


def proc_stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        return stat_fields(f.read())


def cpu_ticks(fields: list[str], reaped_children: bool = False) -> int:
    """utime + stime (fields 14, 15); with reaped_children also cutime + cstime (16, 17). `fields` from stat_fields."""
    ticks = int(fields[11]) + int(fields[12])
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks


def table_entry(fields: list[str]) -> tuple[int, int, int]:
    """(ppid, utime + stime ticks, start time in ticks since boot) from stat_fields."""
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[19])


def process_cpu_seconds(pid: int, reaped_children: bool = False) -> float:
    """utime + stime of a live process (all threads); with reaped_children also cutime + cstime."""
    return cpu_ticks(proc_stat_fields(pid), reaped_children) / CLK_TCK


def process_table() -> dict[int, tuple[int, int, int]]:
    """pid -> (ppid, utime + stime ticks, start time in ticks since boot), for every process now."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = proc_stat_fields(int(entry))
        except (OSError, IndexError):
            continue  # exited meanwhile
        table[int(entry)] = table_entry(fields)
    return table


def children_of(pid: int) -> list[int]:
    return [child for child, (ppid, _, _) in process_table().items() if ppid == pid]


def descendants_in(table: dict[int, tuple[int, int, int]], pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [child for child, (ppid, _, _) in table.items() if ppid == parent]
        found += kids
        frontier += kids
    return found


def descendants_of(pid: int) -> list[int]:
    return descendants_in(process_table(), pid)


def cpu_line_ticks(line: str) -> tuple[int, int]:
    """(all ticks, idle + iowait ticks) from /proc/stat's first line: user…steal summed; guest is inside user."""
    values = [int(v) for v in line.split()[1:]]
    return sum(values[:8]), values[3] + values[4]


def busy_cores(before: tuple[int, int], after: tuple[int, int], nproc: int) -> float:
    """Cores busy (not idle, not iowait) between two cpu_line_ticks samples."""
    total = max(after[0] - before[0], 1)
    return (total - (after[1] - before[1])) / total * nproc


def machine_busy_cores(interval: float = 1.0) -> float:
    """Cores busy (not idle, not iowait) on average over `interval` seconds, from /proc/stat."""
    def sample() -> tuple[int, int]:
        with open("/proc/stat") as f:
            return cpu_line_ticks(f.readline())
    before = sample()
    time.sleep(interval)
    return busy_cores(before, sample(), NPROC)


def uptime_ticks() -> float:
    with open("/proc/uptime") as f:
        return float(f.read().split()[0]) * CLK_TCK


def count_listening(tcp_table: str, port: int) -> int:
    """How many sockets of a /proc/net/tcp text listen (state 0A) on 127.0.0.1:port."""
    count = 0
    for line in tcp_table.splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if state == "0A" and local == f"0100007F:{port:04X}":
            count += 1
    return count


def listening_sockets(port: int) -> int:
    """How many TCP sockets listen on 127.0.0.1:port (ferryd opens one per worker with SO_REUSEPORT)."""
    with open("/proc/net/tcp") as f:
        return count_listening(f.read(), port)
