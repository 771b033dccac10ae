"""One measurement of each tool: an upload by ferry, sftp or scp, a tree of files by ferry, rsync, scp -r or sftp,
a copy by dd, a run of ferry loadtest. Each returns the raw figures of that run as a dict (the JSON file's "raw"
entries)."""
from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from .bench import Bench
from .daemons import Ferryd
from .files import Tree, check_tree
from .parsers import loadtest_report, upload_report
from .processes import check_client, run_client, run_clients
from .settings import CLIENT_NAME, RSYNC, SSHD_CPU_PLAUSIBLE

SSH_TOOLS = ("rsync", "scp", "sftp")  # the tools that go through the bench's sshd


def ferry_upload_command(bench: Bench, daemon: Ferryd, files: list[Path], parallel: int = 1) -> list:
    """`ferry upload --json` of the files to the daemon, default --retries."""
    return [bench.bin / "ferry", "upload", "--server", f"127.0.0.1:{daemon.port}", *bench.ferry_credentials(),
            "--parallel", str(parallel), "--overwrite", "--json", *files]


def ferry_upload(bench: Bench, daemon: Ferryd, files: list[Path], parallel: int = 1) -> dict:
    """`ferry upload --json` of the files; wall time of the command, client rusage, ferryd's CPU delta."""
    before = daemon.cpu_seconds()
    run = run_client(bench.procs, ferry_upload_command(bench, daemon, files, parallel), bench.work)
    server_cpu = daemon.cpu_seconds() - before
    check_client(run, "ferry upload")
    report = upload_report(run.stdout)
    return {"tool": "ferry", "files": len(report["files"]), "bytes": report["bytes"], "seconds": run.wall,
            "ferry_reported_seconds": report["seconds"], "client_cpu": run.cpu, "server_cpu": server_cpu,
            "client_max_rss_kib": run.max_rss_kib, "rotations": sum(f.get("rotations", 0) for f in report["files"])}


def ferry_tree_upload(bench: Bench, daemon: Ferryd, tree: Tree, parallel: int) -> dict:
    """`ferry upload --json --parallel N` of the tree's directory (ferry walks it); checked: the JSON ok with one entry
    per file, and every file stored with its size."""
    entry = ferry_upload(bench, daemon, [tree.root], parallel)
    if entry["files"] != tree.count or entry["bytes"] != tree.bytes:
        raise RuntimeError(f"ferry upload reported {entry['files']} files and {entry['bytes']} bytes, the tree has "
                           f"{tree.count} and {tree.bytes}")
    check_tree(daemon.root / CLIENT_NAME / tree.name, tree, "ferry")
    return entry


def ssh_tree_command(bench: Bench, tool: str, tree: Tree, destination: Path) -> list[str]:
    """The whole tree by one process, into destination/<tree name>: `rsync -a -e "ssh <options>"` (the remote rsync
    named, as a login shell's PATH may not have it), `scp -r`, or `sftp -b` with one `put -r`."""
    options = bench.ssh().client_options()
    if tool == "rsync":
        ssh = shlex.join(["ssh", *bench.ssh().client_options(port_option="-p")])
        return [RSYNC, "-a", "-e", ssh, f"--rsync-path={RSYNC}", str(tree.root), f"root@127.0.0.1:{destination}/"]
    if tool == "scp":
        return ["scp", "-q", "-r", *options, str(tree.root), f"root@127.0.0.1:{destination}/"]
    if tool == "sftp":
        batch = bench.work / "sftp-tree.batch"
        batch.write_text(f'put -r "{tree.root}" "{destination}/"\n')
        return ["sftp", "-q", *options, "-b", str(batch), "root@127.0.0.1"]
    raise ValueError(f"no tree command for {tool!r}")


def ssh_tree_upload(bench: Bench, tool: str, tree: Tree, destination: Path) -> dict:
    """rsync, scp -r or sftp put -r of the tree; sshd's CPU with its reaped children (the remote rsync, sftp-server);
    checked: every file stored with its size."""
    sshd = bench.ssh()
    command = ssh_tree_command(bench, tool, tree, destination)
    before = sshd.cpu_seconds()
    run = run_client(bench.procs, command, bench.work)
    server_cpu = sshd.cpu_seconds() - before
    check_client(run, tool)
    check_tree(destination / tree.name, tree, tool)
    return {"tool": tool, "files": tree.count, "bytes": tree.bytes, "seconds": run.wall, "client_cpu": run.cpu,
            "server_cpu": server_cpu, "client_max_rss_kib": run.max_rss_kib}


def ssh_upload(bench: Bench, tool: str, files: list[Path], destination: Path) -> dict:
    """sftp -b put (one file) or scp (one process per file, all at once); sshd CPU with its reaped children."""
    sshd = bench.ssh()
    options = sshd.client_options()
    if tool == "sftp":
        batch = bench.work / "sftp.batch"
        batch.write_text("".join(f'put "{f}" "{destination}/"\n' for f in files))
        commands = [["sftp", "-q", *options, "-b", str(batch), "root@127.0.0.1"]]
    else:
        commands = [["scp", "-q", *options, str(f), f"root@127.0.0.1:{destination}/"] for f in files]
    before = sshd.cpu_seconds()
    run = run_clients(bench.procs, commands, bench.work)
    server_cpu = sshd.cpu_seconds() - before
    check_client(run, tool)
    total = 0
    for f in files:
        stored = destination / f.name
        if not stored.exists() or stored.stat().st_size != f.stat().st_size:
            raise RuntimeError(f"{tool} left {stored} incomplete")
        total += f.stat().st_size
    return {"tool": tool, "bytes": total, "seconds": run.wall, "client_cpu": run.cpu, "server_cpu": server_cpu}


def dd_write(bench: Bench, source: Path, destination: Path) -> dict:
    """The file copied into the destination through the page cache: the write cost alone, for reference."""
    run = run_client(bench.procs, ["dd", f"if={source}", f"of={destination}/{source.name}", "bs=1M", "status=none"],
                     bench.work)
    check_client(run, "dd")
    return {"tool": "dd", "bytes": source.stat().st_size, "seconds": run.wall, "client_cpu": run.cpu}


def dd_fdatasync(bench: Bench, source: Path, destination: Path) -> dict:
    run = run_client(bench.procs, ["dd", f"if={source}", f"of={destination}/x", "bs=1M", "conv=fdatasync",
                                   "status=none"], bench.work)
    check_client(run, "dd")
    return {"tool": "dd", "bytes": source.stat().st_size, "seconds": run.wall, "client_cpu": run.cpu}


def describe(entry: dict) -> str:
    """One upload run for the progress log."""
    text = f"{entry['tool']:<6} {entry['seconds']:6.2f} s {entry['mb_per_s']:7.0f} MB/s"
    if "server_cpu_per_gb" in entry:
        text += f", server {entry['server_cpu_per_gb']:.2f}"
    text += f", client {entry['client_cpu_per_gb']:.2f} CPU-s/GB, fgn {entry['foreign_pct']:.0f} %"
    return text


def check_accounting(entry: dict) -> None:
    """sshd's and scp/sftp/rsync's CPU come from reaped children; a figure near zero means a child was not reaped into
    it."""
    for side in ("server_cpu_per_gb", "client_cpu_per_gb"):
        if entry["tool"] in SSH_TOOLS and entry[side] < SSHD_CPU_PLAUSIBLE:
            raise RuntimeError(f"{entry['tool']}: {side} = {entry[side]:.3f}: the reaped-children accounting missed "
                               "the ssh/sshd processes")


def ferry_loadtest(bench: Bench, daemon: Ferryd, *options: str, timeout: float = 600) -> dict:
    run = run_client(bench.procs, [bench.bin / "ferry", "loadtest", "--server", f"127.0.0.1:{daemon.port}",
                                   *bench.ferry_credentials(), "--daemon-pid", str(daemon.pid), *options, "--json"],
                     bench.work, timeout=timeout)
    check_client(run, "ferry loadtest " + " ".join(options))
    return loadtest_report(run.stdout)


def has_loadtest(bench: Bench) -> bool:
    return subprocess.run([str(bench.bin / "ferry"), "loadtest", "--help"], capture_output=True).returncode == 0
