"""Section 5b: handshakes per second for each key-exchange group ferry knows (`ferry loadtest --group G`), the groups
alternating within the run."""
from __future__ import annotations

from ..bench import Bench
from ..guard import guarded
from ..parsers import key_exchange_group_names
from ..progress import log
from ..settings import REPO
from ..stats import median_ratio, rotated
from ..tools import ferry_loadtest


def key_exchange_groups() -> list[str]:
    """The names KeyExchangeGroup lists in Sources/Protocol/Wire/Algorithms.swift, the three of the issue first."""
    found = key_exchange_group_names((REPO / "Sources/Protocol/Wire/Algorithms.swift").read_text())
    first = [g for g in ("x25519-mlkem768", "x25519", "p256") if g in found]
    return first + [g for g in found if g not in first]


def section_5b(bench: Bench) -> None:
    """Handshakes/s per key-exchange group, same run, groups alternating."""
    seconds = bench.sizes.handshake_seconds
    daemon = bench.daemon("handshakes")
    groups = key_exchange_groups()
    entries = []
    for run in range(bench.args.runs):
        for group in rotated(groups, run):
            def measure() -> dict:
                report = ferry_loadtest(bench, daemon, "--sessions", "8", "--files-per-session", "0", "--duration",
                                        str(seconds), "--group", group)
                hs = report["handshakes"]
                return {"group": group, "handshakes_per_s": hs["per_second"], "p50_ms": hs["latency_ms"]["p50"],
                        "p99_ms": hs["latency_ms"]["p99"], "loadtest": report}
            entry = guarded(f"5b {group}", measure)
            entry["run"] = run + 1
            log(f"[5b] run {run + 1}/{bench.args.runs}: {group:<16} {entry['handshakes_per_s']:.0f} handshakes/s, "
                f"p50 {entry['p50_ms']:.1f} ms, fgn {entry['foreign_pct']:.0f} %")
            bench.record("5b", entry)
            entries.append(entry)
    rates = {g: [e["handshakes_per_s"] for e in entries if e["group"] == g] for g in groups}
    foreign = [e["foreign_pct"] for e in entries]
    for group in groups:
        bench.row("5b", f"handshakes/s, group {group}", "1/s", rates[group], None,
                  foreign=[e["foreign_pct"] for e in entries if e["group"] == group])
    if "x25519-mlkem768" in rates and "x25519" in rates:
        bench.row("5b", "handshakes/s, x25519-mlkem768 vs x25519", "1/s", rates["x25519-mlkem768"], rates["x25519"],
                  peer_name="x25519", ratio=median_ratio(rates["x25519-mlkem768"], rates["x25519"]),
                  foreign=foreign)
