"""Section 5a: one upload to ext4 (O_DIRECT) with the daemon rotating keys every 64 MiB against rotate_after_bytes = 0
(two daemons); the cost of rotating in % of wall time and of CPU."""
from __future__ import annotations

import os

from ..bench import Bench
from ..files import warm
from ..guard import guarded
from ..progress import log
from ..settings import ROTATION_MIN_RUNS, TARGET_ROTATION_COST_PERCENT
from ..stats import median_of, paired_cost, rotated, with_rates
from ..tools import describe, ferry_upload
from ..units import cpu_per_gb, human_bytes


def section_5a(bench: Bench) -> None:
    """One upload to ext4, daemon rotating every 64 MiB vs rotate_after_bytes = 0; cost in wall time and CPU.

    On ext4 with ferryd's default O_DIRECT writes, whose figures repeat within a few %; on tmpfs this VM's fresh-page
    cost moves a run by ±15 % (docs/PERFORMANCE.md), more than the cost being measured. The cost sought is a few %
    and one run of either varies by ±5–10 % on this shared VM, so: at least ROTATION_MIN_RUNS runs of each, and the
    cost is the median of the runs' paired ratios (rotating / not rotating, the two run back to back), which cancels
    the machine's slower and faster minutes instead of comparing two medians taken across them."""
    size = bench.sizes.upload
    source = bench.payload("upload.bin", size)
    daemons = {"rotate-64MiB": bench.daemon("rotate-64MiB"), "rotate-0": bench.daemon("rotate-0")}
    entries = []
    runs = max(bench.args.runs, ROTATION_MIN_RUNS)
    for run in range(runs):
        for name in rotated(list(daemons), run):
            daemon = daemons[name]
            def prepare() -> None:
                # Both daemons' files go before either runs, so that each run starts from the same memory state: a
                # file the other daemon left behind would change which run pays for fresh pages.
                for each in daemons.values():
                    each.clear_storage()
                os.sync(), warm(source)
            entry = with_rates(guarded(f"5a {name}", lambda: ferry_upload(bench, daemon, [source]), prepare))
            entry.update(run=run + 1, daemon=name, total_cpu=entry["client_cpu"] + entry["server_cpu"])
            entry["total_cpu_per_gb"] = cpu_per_gb(entry["total_cpu"], entry["bytes"])
            log(f"[5a] run {run + 1}/{runs}: {name:<12} {describe(entry)}, {entry['rotations']} rotations")
            bench.record("5a", entry)
            entries.append(entry)
    for daemon in daemons.values():
        daemon.clear_storage()
    rot = [e for e in entries if e["daemon"] == "rotate-64MiB"]
    none = [e for e in entries if e["daemon"] == "rotate-0"]
    if any(e["rotations"] == 0 for e in rot) or any(e["rotations"] for e in none):
        raise RuntimeError("the daemons' rotation policies did not take effect: "
                           f"{[(e['daemon'], e['rotations']) for e in entries]}")
    foreign = [e["foreign_pct"] for e in entries]
    wall_cost = paired_cost(rot, none, "seconds") * 100  # rot[i], none[i]: run i
    cpu_cost = paired_cost(rot, none, "total_cpu") * 100
    target = f"cost ≤ {TARGET_ROTATION_COST_PERCENT:g} %"
    bench.row("5a", f"upload {human_bytes(size)} → ext4, rotate every 64 MiB ({rot[0]['rotations']} rotations) vs 0: "
              f"MB/s (cost {wall_cost:+.1f} % wall time, median of paired runs)", "MB/s",
              [e["mb_per_s"] for e in rot], [e["mb_per_s"] for e in none],
              peer_name="rotate 0", ratio=median_of(rot, "mb_per_s") / median_of(none, "mb_per_s"), target=target,
              met=wall_cost <= TARGET_ROTATION_COST_PERCENT, foreign=foreign)
    bench.row("5a", f"same, client + daemon CPU-s/GB (cost {cpu_cost:+.1f} % CPU, median of paired runs)", "CPU-s/GB",
              [e["total_cpu_per_gb"] for e in rot], [e["total_cpu_per_gb"] for e in none], peer_name="rotate 0",
              ratio=median_of(rot, "total_cpu") / median_of(none, "total_cpu"), target=target,
              met=cpu_cost <= TARGET_ROTATION_COST_PERCENT, foreign=foreign)
