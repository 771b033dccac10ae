"""Units of the figures: MB = 10^6 bytes and GB = 10^9 bytes for rates, KiB, MiB and GiB for file sizes; files per
second and microseconds of CPU per file for many small files."""
from __future__ import annotations

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30
MB = 10**6
GB = 10**9


def human_bytes(n: int) -> str:
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} B"


def mb_per_second(nbytes: int, seconds: float) -> float:
    return nbytes / seconds / MB


def cpu_per_gb(cpu_seconds: float, nbytes: int) -> float:
    return cpu_seconds / (nbytes / GB)


def files_per_second(files: int, seconds: float) -> float:
    return files / seconds


def micros_per_file(cpu_seconds: float, files: int) -> float:
    """CPU microseconds per file: what a tree of small files costs, where per-GB figures would say little."""
    return cpu_seconds / files * 1e6
