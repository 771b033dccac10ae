"""Section 2: concurrent uploads to ext4, one `ferry upload --parallel N` against N scp processes at once; aggregate
MB/s and CPU-s/GB on each side."""
from __future__ import annotations

import os
import statistics

from ..bench import Bench
from ..files import clear_directory, warm
from ..guard import guarded
from ..progress import log
from ..settings import TARGET_CPU_PER_GB, TARGET_PARALLEL_RATIO
from ..stats import median_ratio, rotated, with_rates
from ..tools import check_accounting, describe, ferry_upload, ssh_upload
from ..units import human_bytes


def section_2(bench: Bench) -> None:
    """16 concurrent uploads to ext4: one `ferry upload --parallel 16` against 16 scp processes."""
    sizes = bench.sizes
    files = [bench.payload(f"part{i:02d}.bin", sizes.parallel_file) for i in range(sizes.parallel_count)]
    daemon, destination = bench.daemon("ext4"), bench.ssh_destination("ext4")
    entries = []
    for run in range(bench.args.runs):
        for tool in rotated(["ferry", "scp"], run):
            def prepare() -> None:
                daemon.clear_storage(), clear_directory(destination), os.sync()
                for f in files:
                    warm(f)
            measure = (lambda: ferry_upload(bench, daemon, files, parallel=len(files))) if tool == "ferry" else \
                (lambda: ssh_upload(bench, "scp", files, destination))
            entry = with_rates(guarded(f"2 {tool}", measure, prepare))
            entry.update(run=run + 1, destination="ext4", concurrent=len(files))
            check_accounting(entry)
            log(f"[2] run {run + 1}/{bench.args.runs}: {describe(entry)}")
            bench.record("2", entry)
            entries.append(entry)
    daemon.clear_storage(), clear_directory(destination)
    values = lambda tool, key: [e[key] for e in entries if e["tool"] == tool]
    foreign = [e["foreign_pct"] for e in entries]
    label = f"{len(files)} concurrent × {human_bytes(sizes.parallel_file)} → ext4"
    ratio = median_ratio(values("ferry", "mb_per_s"), values("scp", "mb_per_s"))
    bench.row("2", f"{label}: aggregate MB/s, ferry --parallel {len(files)} vs {len(files)} scp", "MB/s",
              values("ferry", "mb_per_s"), values("scp", "mb_per_s"), peer_name="scp", ratio=ratio,
              target=f"≥ {TARGET_PARALLEL_RATIO:g}× scp", met=ratio >= TARGET_PARALLEL_RATIO, foreign=foreign)
    for side, ferry_name, peer_name in (("server", "ferryd", "sshd"), ("client", "ferry", f"{len(files)} scp+ssh")):
        key = f"{side}_cpu_per_gb"
        ferry_median = statistics.median(values("ferry", key))
        bench.row("2", f"{label}: {side} CPU-s/GB, {ferry_name} vs {peer_name}", "CPU-s/GB", values("ferry", key),
                  values("scp", key), peer_name=peer_name,
                  ratio=median_ratio(values("ferry", key), values("scp", key)),
                  target=f"{ferry_name} ≤ {TARGET_CPU_PER_GB:g}", met=ferry_median <= TARGET_CPU_PER_GB,
                  foreign=foreign)
