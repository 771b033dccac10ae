"""The arithmetic of the figures: alternation order, medians with min–max, ratios of medians, paired costs, and the
rates of one run (per GB, or per file for a tree of small files)."""
from __future__ import annotations

import statistics

from .units import cpu_per_gb, files_per_second, mb_per_second, micros_per_file


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


def paired_per_file_growth(larger: list[dict], smaller: list[dict], key: str) -> list[float]:
    """Per run i, how much `key` grew per added file from smaller[i] to larger[i] (runs of one tool on trees of
    different `files` counts, run back to back): (larger[key] − smaller[key]) / (larger files − smaller files)."""
    return [(big[key] - small[key]) / (big["files"] - small["files"]) for big, small in zip(larger, smaller)]


def with_rates(entry: dict) -> dict:
    entry["mb_per_s"] = mb_per_second(entry["bytes"], entry["seconds"])
    entry["client_cpu_per_gb"] = cpu_per_gb(entry["client_cpu"], entry["bytes"])
    if "server_cpu" in entry:
        entry["server_cpu_per_gb"] = cpu_per_gb(entry["server_cpu"], entry["bytes"])
    return entry


def with_file_rates(entry: dict) -> dict:
    """with_rates, plus the figures of a tree of `files` files: files/s and CPU µs per file on each side."""
    with_rates(entry)
    entry["files_per_s"] = files_per_second(entry["files"], entry["seconds"])
    entry["client_us_per_file"] = micros_per_file(entry["client_cpu"], entry["files"])
    if "server_cpu" in entry:
        entry["server_us_per_file"] = micros_per_file(entry["server_cpu"], entry["files"])
    return entry
