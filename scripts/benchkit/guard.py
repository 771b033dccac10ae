"""Around each measurement: wait for the machine to be idle, sample the CPU other processes use meanwhile, and repeat a
run that met too much of it."""
from __future__ import annotations

import os
import threading
import time
from typing import Callable

from .procfs import CLK_TCK, machine_busy_cores, process_table, uptime_ticks
from .progress import log
from .settings import FOREIGN_REPEAT_PERCENT, IDLE_BUSY_CORES, IDLE_WAIT_SECONDS


def wait_for_idle() -> tuple[float, float]:
    """Waits until less than IDLE_BUSY_CORES are busy, at most IDLE_WAIT_SECONDS; returns (seconds waited, busy cores)."""
    start = time.monotonic()
    while True:
        busy = machine_busy_cores()
        waited = time.monotonic() - start
        if busy < IDLE_BUSY_CORES or waited >= IDLE_WAIT_SECONDS:
            if busy >= IDLE_BUSY_CORES:
                log(f"  machine still busy after {waited:.0f} s ({busy:.2f} cores), measuring anyway")
            return waited, busy


class ForeignLoad:
    """CPU used during a measurement by processes that are neither this script's descendants nor kernel threads.

    A thread samples every process's utime + stime every 0.5 s (like pidstat). A process that starts and ends between
    two samples is missed, so the figure is a lower bound; it is a guard, not a measurement."""

    INTERVAL = 0.5

    def __init__(self) -> None:
        self.ticks = 0
        self.percent = 0.0
        self._stop = threading.Event()

    def __enter__(self) -> "ForeignLoad":
        self._start = time.monotonic()
        self._window_start = uptime_ticks()
        self._previous = process_table()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        wall = max(time.monotonic() - self._start, 1e-3)
        self.percent = self.ticks / CLK_TCK / wall * 100

    def _loop(self) -> None:
        while not self._stop.wait(self.INTERVAL):
            self._sample()

    def _sample(self) -> None:
        table = process_table()
        ours = self._ours(table)
        for pid, (ppid, ticks, started) in table.items():
            if pid in ours or pid == 2 or ppid == 2:  # ours, kthreadd and kernel threads
                continue
            before = self._previous.get(pid)
            if before and before[2] == started:
                self.ticks += ticks - before[1]
            elif started >= self._window_start:
                self.ticks += ticks
        self._previous = table

    @staticmethod
    def _ours(table: dict[int, tuple[int, int, int]]) -> set[int]:
        """This script and its descendants: walk each process's parents until one is known (memoised both ways)."""
        ours, theirs = {os.getpid()}, set()
        for pid in table:
            chain, cursor = [], pid
            while cursor not in ours and cursor not in theirs and cursor in table and cursor > 1:
                chain.append(cursor)
                cursor = table[cursor][0]
            (ours if cursor in ours else theirs).update(chain)
        return ours


def guarded(label: str, measure: Callable[[], dict], prepare: Callable[[], None] | None = None) -> dict:
    """One measurement: prepare (clean the destination, sync), wait for idle, measure under the foreign-load sampler;
    repeated once if foreign load exceeded FOREIGN_REPEAT_PERCENT (the first attempt is kept under "discarded").
    Returns measure()'s dict plus the guard's figures."""
    discarded = None
    for attempt in (1, 2):
        if prepare:
            prepare()
        waited, busy = wait_for_idle()
        with ForeignLoad() as foreign:
            result = measure()
        result.update(foreign_pct=round(foreign.percent, 1), idle_wait_s=round(waited, 1),
                      busy_cores_before=round(busy, 2), attempt=attempt, discarded=discarded)
        if foreign.percent <= FOREIGN_REPEAT_PERCENT or attempt == 2:
            return result
        log(f"  {label}: {foreign.percent:.0f} % of a core of foreign load, repeating once")
        discarded = result
    raise AssertionError("unreachable")
