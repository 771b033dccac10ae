"""Units of the figures: MB = 10^6 bytes and GB = 10^9 bytes for rates, MiB and GiB for file sizes."""
from __future__ import annotations

MiB = 1 << 20
GiB = 1 << 30
MB = 10**6
GB = 10**9


def human_bytes(n: int) -> str:
    for unit, size in (("GiB", GiB), ("MiB", MiB)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} B"


def mb_per_second(nbytes: int, seconds: float) -> float:
    return nbytes / seconds / MB


def cpu_per_gb(cpu_seconds: float, nbytes: int) -> float:
    return cpu_seconds / (nbytes / GB)
