"""Section 1: one upload to tmpfs and to ext4 (ferry, ferry through the page cache, sftp, scp, and dd for the write
alone), the durable upload (ferryd fsync = true against dd conv=fdatasync), and the crypto floor per side."""
from __future__ import annotations

import os
import statistics
from pathlib import Path

from ..bench import Bench
from ..files import clear_directory, warm
from ..guard import guarded
from ..parsers import speed_kilobytes_per_second
from ..processes import run_quiet
from ..progress import log
from ..settings import TARGET_CPU_PER_GB, TARGET_DURABLE_RATIO, TARGET_UPLOAD_RATIO
from ..stats import median_ratio, rotated, with_rates
from ..tools import check_accounting, dd_fdatasync, dd_write, describe, ferry_upload, ssh_upload
from ..units import human_bytes


def section_1(bench: Bench) -> None:
    """One upload to tmpfs and to ext4 (ferry, sftp, scp), then the durable figure (ferry fsync vs dd fdatasync)."""
    size = bench.sizes.upload
    source = bench.payload("upload.bin", size)
    for place in ("tmpfs", "ext4"):
        daemon, destination = bench.daemon(place), bench.ssh_destination(place)
        buffered = bench.daemon("ext4-buffered") if place == "ext4" else None
        entries = []
        for run in range(bench.args.runs):
            for tool in rotated(["ferry", "sftp", "scp", "dd"] + (["ferry-buffered"] if buffered else []), run):
                def prepare() -> None:
                    daemon.clear_storage(), clear_directory(destination), os.sync(), warm(source)
                    if buffered:
                        buffered.clear_storage()
                if tool == "ferry":
                    measure = lambda: ferry_upload(bench, daemon, [source])
                elif tool == "ferry-buffered":
                    measure = lambda: dict(ferry_upload(bench, buffered, [source]), tool="ferry-buffered")
                elif tool == "dd":
                    measure = lambda: dd_write(bench, source, destination)
                else:
                    measure = lambda tool=tool: ssh_upload(bench, tool, [source], destination)
                entry = with_rates(guarded(f"1 {place} {tool}", measure, prepare))
                entry.update(run=run + 1, destination=place)
                if tool != "dd":
                    check_accounting(entry)
                log(f"[1 {place}] run {run + 1}/{bench.args.runs}: {describe(entry)}")
                bench.record("1", entry)
                entries.append(entry)
        daemon.clear_storage(), clear_directory(destination)
        if buffered:
            buffered.clear_storage()
        summarize_section_1(bench, place, size, entries)
    section_1_durable(bench, source)
    crypto_floor(bench)


def crypto_floor(bench: Bench) -> None:
    """What SHA-256 and AES-256-GCM alone cost per GB on one side, at `openssl speed` rates (64 KiB blocks, this
    machine, this run): each side hashes every byte once and seals or opens it once, so no design that keeps both can
    spend less CPU per GB than this — the figure the ≤ 0.8 CPU-s/GB target is to be read against."""
    def seconds_per_gb(*speed_args: str) -> float:
        out = run_quiet(["openssl", "speed", "-seconds", "2", "-bytes", "65536", *speed_args]).stdout
        return 1e9 / (speed_kilobytes_per_second(out) * 1000)
    sha = seconds_per_gb("-evp", "sha256")
    seal = seconds_per_gb("-evp", "aes-256-gcm")
    open_ = seconds_per_gb("-decrypt", "-evp", "aes-256-gcm")
    log(f"[1 crypto] openssl speed, 64 KiB: SHA-256 {sha:.3f}, AES-256-GCM seal {seal:.3f} / open {open_:.3f} CPU-s/GB")
    bench.record("1", {"tool": "openssl speed", "sha256_cpu_per_gb": sha, "aes_seal_cpu_per_gb": seal,
                       "aes_open_cpu_per_gb": open_})
    for side, aead in (("client (SHA-256 + seal)", seal), ("server (SHA-256 + open)", open_)):
        bench.row("1", f"crypto alone per GB, {side}, at openssl speed rates (64 KiB): the floor under the "
                  f"≤ {TARGET_CPU_PER_GB:g} CPU-s/GB target", "CPU-s/GB", [sha + aead], None)


def summarize_section_1(bench: Bench, place: str, size: int, entries: list[dict]) -> None:
    by_tool = {t: [e for e in entries if e["tool"] == t] for t in ("ferry", "ferry-buffered", "sftp", "scp", "dd")}
    values = lambda tool, key: [e[key] for e in by_tool[tool]]
    foreign = [e["foreign_pct"] for e in entries]
    # The destination's own cost, without network or crypto: `dd bs=1M` of the file through the page cache, what any
    # uploader that writes there pays (on this project's VMs memory touched for the first time is slow, which makes
    # tmpfs the expensive destination). No target: it shows how much of a core the write alone takes.
    ferry_key = "server_cpu_per_gb"
    bench.row("1", f"1 upload → {place}: MB/s, ferry vs the write alone (dd bs=1M, page cache)", "MB/s",
              values("ferry", "mb_per_s"), values("dd", "mb_per_s"), peer_name="dd",
              ratio=median_ratio(values("ferry", "mb_per_s"), values("dd", "mb_per_s")),
              foreign=foreign)
    bench.row("1", f"server CPU-s/GB → {place}: ferryd vs the write alone (dd)", "CPU-s/GB",
              values("ferry", ferry_key), values("dd", "client_cpu_per_gb"), peer_name="dd",
              ratio=median_ratio(values("ferry", ferry_key), values("dd", "client_cpu_per_gb")),
              foreign=foreign)
    if by_tool["ferry-buffered"]:
        # Ferry through the page cache, as the ssh tools write (direct_io = false): no target, for comparison.
        for key, unit, what in (("mb_per_s", "MB/s", "MB/s"), ("server_cpu_per_gb", "CPU-s/GB", "server CPU-s/GB")):
            ratio = median_ratio(values("ferry-buffered", key), values("sftp", key))
            bench.row("1", f"1 upload → {place}, ferryd direct_io = false: {what}, ferry vs sftp", unit,
                      values("ferry-buffered", key), values("sftp", key), peer_name="sftp", ratio=ratio,
                      foreign=foreign)
    for peer in ("sftp", "scp"):
        ratio = median_ratio(values("ferry", "mb_per_s"), values(peer, "mb_per_s"))
        is_target = peer == "sftp"
        bench.row("1", f"1 upload of {human_bytes(size)} → {place}: MB/s, ferry vs {peer}", "MB/s",
                  values("ferry", "mb_per_s"), values(peer, "mb_per_s"), peer_name=peer, ratio=ratio,
                  target=f"≥ {TARGET_UPLOAD_RATIO:g}× sftp" if is_target else "",
                  met=ratio >= TARGET_UPLOAD_RATIO if is_target else None, foreign=foreign)
    for side, ferry_name in (("server", "ferryd"), ("client", "ferry")):
        key = f"{side}_cpu_per_gb"
        ferry_median = statistics.median(values("ferry", key))
        for peer in ("sftp", "scp"):
            peer_name = f"sshd ({peer})" if side == "server" else f"{peer}+ssh"
            bench.row("1", f"{side} CPU-s/GB → {place}: {ferry_name} vs {peer_name}", "CPU-s/GB",
                      values("ferry", key), values(peer, key), peer_name=peer_name,
                      ratio=median_ratio(values("ferry", key), values(peer, key)),
                      target=f"{ferry_name} ≤ {TARGET_CPU_PER_GB:g}", met=ferry_median <= TARGET_CPU_PER_GB,
                      foreign=foreign)


def section_1_durable(bench: Bench, source: Path) -> None:
    daemon = bench.daemon("ext4-durable")
    dd_dir = bench.ext4 / "dd"
    dd_dir.mkdir(exist_ok=True)
    entries = []
    for run in range(bench.args.runs):
        for tool in rotated(["ferry", "dd"], run):
            def prepare() -> None:
                daemon.clear_storage(), clear_directory(dd_dir), os.sync(), warm(source)
            measure = (lambda: ferry_upload(bench, daemon, [source])) if tool == "ferry" else \
                (lambda: dd_fdatasync(bench, source, dd_dir))
            entry = with_rates(guarded(f"1 durable {tool}", measure, prepare))
            entry.update(run=run + 1, destination="ext4, durable")
            log(f"[1 durable] run {run + 1}/{bench.args.runs}: {describe(entry)}")
            bench.record("1-durable", entry)
            entries.append(entry)
    daemon.clear_storage(), clear_directory(dd_dir)
    ferry = [e["mb_per_s"] for e in entries if e["tool"] == "ferry"]
    dd = [e["mb_per_s"] for e in entries if e["tool"] == "dd"]
    ratio = median_ratio(ferry, dd)
    bench.row("1", f"durable upload → ext4 (ferryd fsync = true vs dd conv=fdatasync): MB/s", "MB/s", ferry, dd,
              peer_name="dd", ratio=ratio, target=f"≥ {TARGET_DURABLE_RATIO:.0%} of dd",
              met=ratio >= TARGET_DURABLE_RATIO, foreign=[e["foreign_pct"] for e in entries])
