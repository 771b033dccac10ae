"""The arithmetic of the figures: alternation order, medians with min–max, ratios of medians, paired costs, and the
rates of one run."""
from __future__ import annotations

import statistics

from .units import cpu_per_gb, mb_per_second


def rotated(items: list, run: int) -> list:
    """ABC, BCA, CAB…: the order of the tools in run number `run` (0-based)."""
    k = run % len(items)
    return items[k:] + items[:k]


def spread(values: list[float] | None) -> dict | None:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": list(values)}


def median_of(entries: list[dict], key: str) -> float:
    return statistics.median(e[key] for e in entries)


def median_ratio(ferry: list[float], peer: list[float]) -> float:
    """The table's ratio: Ferry's median over the peer's."""
    return statistics.median(ferry) / statistics.median(peer)


def paired_cost(changed: list[dict], baseline: list[dict], key: str) -> float:
    """The median of the runs' paired ratios changed[i][key] / baseline[i][key], minus 1 (0.03: 3 % more). Run i of
    each ran back to back, so a pair shares the machine's minute; two medians taken across runs would not."""
    return statistics.median(c[key] / b[key] for c, b in zip(changed, baseline)) - 1


def with_rates(entry: dict) -> dict:
    entry["mb_per_s"] = mb_per_second(entry["bytes"], entry["seconds"])
    entry["client_cpu_per_gb"] = cpu_per_gb(entry["client_cpu"], entry["bytes"])
    if "server_cpu" in entry:
        entry["server_cpu_per_gb"] = cpu_per_gb(entry["server_cpu"], entry["bytes"])
    return entry
