"""Section 10 (issue #18, point 6): one download of a 2 GiB file to ext4 — `ferry get` from the ext4 ferryd against
`sftp -b` with `get` of the very file that ferryd stores (through the bench's sshd), the same destination directory,
the tools alternating run by run. The file is uploaded once by ferry (not measured) and kept in the page cache; the
destination is emptied and synced before every run. Wall time of the command gives MB/s; CPU seconds per GB on each
side (ferryd's CPU delta; sshd's with its reaped sftp-server; the client's wait4 rusage, ssh included). Every copy is
checked: its size, and ferry's exit status (ferry get itself refuses a copy whose SHA-256 is not the recorded one).
Target: ferry ≥ 2× sftp's MB/s."""
from __future__ import annotations

import os

from ..bench import Bench
from ..files import clear_directory, warm
from ..guard import guarded
from ..processes import check_client, run_client
from ..progress import log
from ..settings import CLIENT_NAME
from ..stats import median_ratio, rotated, with_rates
from ..tools import check_accounting, describe, ferry_upload

TARGET_RATIO = 2.0
TOOLS = ["ferry", "sftp"]


def section_10(bench: Bench) -> None:
    """One 2 GiB download to ext4: ferry get against sftp get of the very file ferryd stores."""
    size = bench.sizes.upload
    source = bench.payload("upload.bin", size)
    daemon = bench.daemon("ext4")
    daemon.clear_storage()
    ferry_upload(bench, daemon, [source])
    stored = daemon.root / CLIENT_NAME / source.name
    destination = bench.ext4 / "download-dest"
    destination.mkdir(exist_ok=True)
    entries = []
    for run in range(bench.args.runs):
        for tool in rotated(TOOLS, run):
            def prepare() -> None:
                clear_directory(destination), os.sync(), warm(stored)
            measure = lambda tool=tool: download(bench, tool, daemon, stored, destination, size)
            entry = with_rates(guarded(f"10 {tool}", measure, prepare))
            entry.update(run=run + 1)
            check_accounting(entry)
            log(f"[10] run {run + 1}/{bench.args.runs}: {describe(entry)}")
            bench.record("10", entry)
            entries.append(entry)
    clear_directory(destination)
    daemon.clear_storage()
    summarize(bench, size, entries)


def download(bench: Bench, tool: str, daemon, stored, destination, size: int) -> dict:
    """One download of the stored file into `destination` by `tool`; checked: the copy has the file's size."""
    target = destination / stored.name
    if tool == "ferry":
        server = daemon
        argv = [bench.bin / "ferry", "get", "--server", f"127.0.0.1:{daemon.port}", *bench.ferry_credentials(), "--quiet",
                stored.name, str(target)]
    else:
        server = bench.ssh()
        batch = bench.work / "sftp-get.batch"
        batch.write_text(f'get "{stored}" "{target}"\n')
        argv = ["sftp", "-q", *server.client_options(), "-b", str(batch), "root@127.0.0.1"]
    before = server.cpu_seconds()
    run = run_client(bench.procs, argv, bench.work)
    server_cpu = server.cpu_seconds() - before
    check_client(run, f"{tool} get")
    if not target.exists() or target.stat().st_size != size:
        raise RuntimeError(f"{tool} left {target} incomplete")
    return {"tool": tool, "bytes": size, "seconds": run.wall, "client_cpu": run.cpu, "server_cpu": server_cpu}


def summarize(bench: Bench, size: int, entries: list[dict]) -> None:
    values = lambda tool, key: [e[key] for e in entries if e["tool"] == tool]
    foreign = [e["foreign_pct"] for e in entries]
    what = f"one {size / 2**30:g} GiB download → ext4"
    ratio = median_ratio(values("ferry", "mb_per_s"), values("sftp", "mb_per_s"))
    bench.row("10", f"{what}: MB/s, ferry get vs sftp get", "MB/s", values("ferry", "mb_per_s"), values("sftp", "mb_per_s"),
              peer_name="sftp", ratio=ratio, target=f"≥ {TARGET_RATIO:g}× sftp", met=ratio >= TARGET_RATIO, foreign=foreign)
    for side, names in (("server", ("ferryd", "sshd+sftp-server")), ("client", ("ferry get", "sftp+ssh"))):
        key = f"{side}_cpu_per_gb"
        bench.row("10", f"{what}: {side} CPU-s/GB, {names[0]} vs {names[1]}", "CPU-s/GB", values("ferry", key),
                  values("sftp", key), peer_name=names[1], ratio=median_ratio(values("ferry", key), values("sftp", key)),
                  foreign=foreign)
