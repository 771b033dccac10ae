"""Section 6 (issue #15's benchmark): one upload to ext4 uninterrupted, against the same upload with ferryd SIGKILLed
once half of the file is on the server and started again at once; the same `ferry upload` reconnects by itself
(default --retries) and ferryd resumes from the partial it kept. Total time, bytes sent again, the offset resumed at,
and the server CPU spent on resuming."""
from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from pathlib import Path

from ..bench import Bench
from ..daemons import Ferryd
from ..files import warm
from ..guard import guarded
from ..parsers import bytes_sent_again, resume_offsets, upload_report
from ..processes import check_client, run_client
from ..progress import log
from ..settings import CLIENT_NAME
from ..stats import median_ratio, rotated, with_rates
from ..tools import describe, ferry_upload_command
from ..units import MiB, human_bytes

POLL_SECONDS = 0.005  # between two looks at the .part's size: 5 MB at 1 GB/s
STAGING = ".staging"  # ferryd's [storage] staging default, under the storage root


def section_6(bench: Bench) -> None:
    """One upload to ext4, uninterrupted vs ferryd SIGKILLed at half way and restarted: time, bytes again, CPU."""
    size = bench.sizes.upload
    source = bench.payload("upload.bin", size)
    expected = sha256_of(source)
    daemon = bench.daemon("resume")
    entries = []
    for run in range(bench.args.runs):
        for way in rotated(["uninterrupted", "interrupted"], run):
            def prepare() -> None:
                daemon.clear_storage(), os.sync(), warm(source)
                if largest_part(daemon.root / STAGING):
                    raise RuntimeError(f"a partial upload is left in {daemon.root / STAGING}: it would be resumed")
            measure = lambda: upload(bench, daemon, source, expected, interrupt=way == "interrupted")
            entry = with_rates(guarded(f"6 {way}", measure, prepare))
            entry.update(run=run + 1, way=way)
            text = f"{way:<13} {describe(entry)}, sent again {entry['sent_again'] / MiB:.0f} MiB"
            if way == "interrupted":
                text += (f" (killed at .part {entry['part_bytes_at_kill'] / MiB:.0f} MiB, resumed at "
                         f"{entry['resume_offset'] / MiB:.0f} MiB; restarted ferryd {entry['restarted_server_cpu']:.2f}"
                         f" CPU-s)")
            log(f"[6] run {run + 1}/{bench.args.runs}: {text}")
            bench.record("6", entry)
            entries.append(entry)
    daemon.clear_storage()
    summarize(bench, size, entries)


def upload(bench: Bench, daemon: Ferryd, source: Path, expected: str, interrupt: bool) -> dict:
    """`ferry upload --json` of the source, with ferryd killed and restarted at half way when `interrupt`; checked
    (JSON ok, stored SHA-256, one attempt or one resume at the offset the JSON reports)."""
    size = source.stat().st_size
    log_from = daemon.log_path.stat().st_size
    before = daemon.cpu_seconds()
    killer = Killer(daemon, size // 2) if interrupt else None
    with killer or contextlib.nullcontext():
        run = run_client(bench.procs, ferry_upload_command(bench, daemon, [source]), bench.work)
    check_client(run, "ferry upload")
    report = upload_report(run.stdout)
    after = daemon.cpu_seconds()  # the restarted process's whole life when interrupted
    with open(daemon.log_path) as f:
        f.seek(log_from)
        offsets = resume_offsets(f.read())
    [file] = report["files"]
    check_stored(daemon.root / CLIENT_NAME / file["stored"], file, expected)
    entry = {"tool": "ferry", "bytes": size, "seconds": run.wall, "client_cpu": run.cpu,
             "attempts": file["attempts"], "resumed_bytes": file["resumed_bytes"], "sent_bytes": file["sent_bytes"],
             "sent_again": bytes_sent_again(report)}
    if not killer:
        if file["attempts"] != 1 or offsets:
            raise RuntimeError(f"the uninterrupted upload took {file['attempts']} attempts (resumed at {offsets})")
        return dict(entry, server_cpu=after - before)
    if killer.part_bytes is None:
        raise RuntimeError(f"the upload ended before its .part reached {human_bytes(size // 2)}: ferryd was not killed")
    if len(offsets) != 1 or offsets[0] != file["resumed_bytes"]:
        raise RuntimeError(f"ferryd's 'upload resumed' offsets {offsets} after the restart, the client's "
                           f"resumed_bytes {file['resumed_bytes']}: expected one resume, at the same offset")
    killed = killer.killed_cpu - before
    return dict(entry, part_bytes_at_kill=killer.part_bytes, resume_offset=offsets[0], killed_server_cpu=killed,
                restarted_server_cpu=after, restarted_startup_cpu=killer.startup_cpu, server_cpu=killed + after)


class Killer:
    """While the upload runs: once a .part in the daemon's staging directory holds `at` bytes, SIGKILLs ferryd and
    starts it again at once (Ferryd.kill_and_restart)."""

    def __init__(self, daemon: Ferryd, at: int) -> None:
        self.daemon, self.at = daemon, at
        self.part_bytes: int | None = None  # the .part's size when ferryd was killed; None: not killed
        self.killed_cpu = 0.0  # the killed ferryd's CPU seconds over its life (wait4)
        self.startup_cpu = 0.0  # the restarted ferryd's, once it listened
        self.error: Exception | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> Killer:
        self._thread.start()
        return self

    def __exit__(self, exc_type, *_) -> None:
        self._done.set()
        self._thread.join()
        if self.error and exc_type is None:
            raise RuntimeError(f"killing and restarting ferryd failed: {self.error}") from self.error

    def _watch(self) -> None:
        try:
            while not self._done.is_set():
                part = largest_part(self.daemon.root / STAGING)
                if part >= self.at:
                    self.part_bytes = part
                    self.killed_cpu = self.daemon.kill_and_restart()
                    self.startup_cpu = self.daemon.cpu_seconds()
                    return
                time.sleep(POLL_SECONDS)
        except Exception as error:  # reported by __exit__, in the bench's thread
            self.error = error


def largest_part(staging: Path) -> int:
    """The size of the largest .part file in ferryd's staging directory (0: none)."""
    sizes = [0]
    for part in staging.glob("*.part"):
        with contextlib.suppress(FileNotFoundError):  # committed or removed meanwhile
            sizes.append(part.stat().st_size)
    return max(sizes)


def sha256_of(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def check_stored(stored: Path, file: dict, expected: str) -> None:
    """The file ferryd stored, and the digest ferry reports, are the source's."""
    if file["sha256"] != expected:
        raise RuntimeError(f"ferry upload reported SHA-256 {file['sha256']}, the source's is {expected}")
    if sha256_of(stored) != expected:
        raise RuntimeError(f"{stored} differs from the source (SHA-256 {sha256_of(stored)}, expected {expected})")


def summarize(bench: Bench, size: int, entries: list[dict]) -> None:
    cut = [e for e in entries if e["way"] == "interrupted"]
    whole = [e for e in entries if e["way"] == "uninterrupted"]
    values = lambda group, key, scale=1: [e[key] / scale for e in group]
    foreign = [e["foreign_pct"] for e in entries]
    row = lambda measurement, unit, ferry, peer, peer_name="uninterrupted", ratio=True: bench.row(
        "6", measurement, unit, ferry, peer, peer_name=peer_name,
        ratio=median_ratio(ferry, peer) if ratio else None, foreign=foreign)
    row(f"1 upload of {human_bytes(size)} → ext4, ferryd SIGKILLed at half way and restarted vs uninterrupted: total "
        "wall time (the client's reconnect backoff included)", "s", values(cut, "seconds"), values(whole, "seconds"))
    row("same: bytes sent again (JSON sent_bytes − file size)", "MiB", values(cut, "sent_again", MiB),
        values(whole, "sent_again", MiB), ratio=False)
    row("same: offset ferryd resumed at (its \"upload resumed\" log line) vs the .part's size when killed", "MiB",
        values(cut, "resume_offset", MiB), values(cut, "part_bytes_at_kill", MiB), peer_name=".part at kill")
    row("same: server CPU-s, the restarted ferryd (start, re-hash of the kept prefix, the rest of the file) vs the "
        "uninterrupted ferryd (whole upload)", "CPU-s", values(cut, "restarted_server_cpu"),
        values(whole, "server_cpu"))
    row("same: server CPU-s in all, killed + restarted ferryd vs uninterrupted", "CPU-s", values(cut, "server_cpu"),
        values(whole, "server_cpu"))
