"""Section 9 (issue #18, point 6): listing what is stored, end to end — the client started, connected, authenticated,
every entry received and printed, the client exited. Two shapes of the same number of files of 1 KiB, each uploaded
once to tmpfs by `ferry upload --parallel 8` (not measured) and listed --runs times, the tools alternating:

  flat      one directory of N files: `ferry ls DIR` (the directory's children, from the index, page after page)
            against `sftp -b` with `ls -1 DIR` (sshd's sftp-server reads the directory) through the bench's sshd.
  tree      the same N files in LISTING_DIRECTORIES directories: `ferry ls -R TREE` (every file below, by its path)
            against `rsync -r --list-only` over ssh (the remote rsync walks the tree).

Wall time of the command (target: N = 100,000 entries in under a second for ferry), entries per second, CPU on each
side. Every run's output is checked: ferry's lines are exactly the stored names (N of them, in byte order); the
peers' hold N file names. ferryd keeps its default index (SQLite under the root, DAEMONS' "tmpfs")."""
from __future__ import annotations

import os
import re
import statistics
from pathlib import Path

from ..bench import Bench
from ..files import Tree
from ..guard import guarded
from ..progress import log
from ..processes import check_client, run_client
from ..settings import CLIENT_NAME, RSYNC
from ..stats import median_ratio, rotated
from ..tools import ferry_tree_upload
from ..units import KiB

LISTING_DIRECTORIES = 100
TARGET_SECONDS = 1.0  # issue #18: 100,000 entries in under a second, end to end
TOOLS = {"flat": ["ferry", "sftp"], "tree": ["ferry", "rsync"]}
LABELS = {"ferry": "ferry ls", "sftp": "sftp ls -1", "rsync": "rsync -r --list-only"}
FILE_NAME = re.compile(r"(^|/)f\d+$")  # a file of the tree (files.tree_paths: d000/f000000, …) at a line's end


def section_9(bench: Bench) -> None:
    """ferry ls of N stored entries (a flat directory, then -R over a tree) against sftp and rsync."""
    count = bench.sizes.listing_entries
    daemon = bench.daemon("tmpfs")
    daemon.clear_storage()
    destination = bench.ssh_destination("tmpfs")
    for shape, directories in (("flat", 1), ("tree", LISTING_DIRECTORIES)):
        tree = bench.tree(f"listing-{shape}-{count}", count, KiB, directories)
        upload = ferry_tree_upload(bench, daemon, tree, 8)
        log(f"[9 {shape}] {count:,} files stored in {upload['seconds']:.1f} s (ferry upload -j8, not measured)")
        # The ssh peers list a copy of the same names, in the directory sshd serves.
        peer_root = destination / tree.name
        if not peer_root.exists():
            os.system(f"cp -r '{tree.root}' '{destination}/'")
        entries = []
        for run in range(bench.args.runs):
            for tool in rotated(TOOLS[shape], run):
                measure = lambda tool=tool: list_once(bench, tool, shape, tree, daemon, peer_root)
                entry = guarded(f"9 {shape} {tool}", measure, lambda: None)
                entry.update(run=run + 1, shape=shape, entries=count)
                log(f"[9 {shape}] run {run + 1}/{bench.args.runs}: {LABELS[tool]:<20} {entry['seconds']:.3f} s, "
                    f"{count / entry['seconds']:,.0f} entries/s, CPU client {entry['client_cpu']:.2f} s server "
                    f"{entry['server_cpu']:.2f} s, fgn {entry['foreign_pct']:.0f} %")
                bench.record("9", entry)
                entries.append(entry)
        summarize(bench, shape, count, entries)
    daemon.clear_storage()


def list_once(bench: Bench, tool: str, shape: str, tree: Tree, daemon, peer_root: Path) -> dict:
    """One listing by `tool`, checked; wall time, client CPU, server CPU (ferryd's, or sshd's with its children)."""
    if tool == "ferry":
        argv = [bench.bin / "ferry", "ls", "--server", f"127.0.0.1:{daemon.port}", *bench.ferry_credentials()]
        argv += ["-R", tree.name] if shape == "tree" else [f"{tree.name}/{only_directory(tree)}"]
        before = daemon.cpu_seconds()
        run = run_client(bench.procs, argv, bench.work)
        server_cpu = daemon.cpu_seconds() - before
        check_client(run, "ferry ls")
        check_names(run.stdout.splitlines(), expected_names(tree, shape), "ferry ls")
    else:
        sshd = bench.ssh()
        if tool == "sftp":
            batch = bench.work / "sftp-ls.batch"
            batch.write_text(f'ls -1 "{peer_root / only_directory(tree)}"\n')
            argv = ["sftp", "-q", *sshd.client_options(), "-b", str(batch), "root@127.0.0.1"]
        else:
            ssh = " ".join(["ssh", *sshd.client_options(port_option="-p")])
            argv = [RSYNC, "-r", "--list-only", "-e", ssh, f"--rsync-path={RSYNC}", f"root@127.0.0.1:{peer_root}/"]
        before = sshd.cpu_seconds()
        run = run_client(bench.procs, argv, bench.work)
        server_cpu = sshd.cpu_seconds() - before
        check_client(run, tool)
        files = sum(1 for line in run.stdout.splitlines() if FILE_NAME.search(line))
        if files < tree.count:
            raise RuntimeError(f"{tool} listed {files} files of {tree.count}")
    return {"tool": tool, "seconds": run.wall, "client_cpu": run.cpu, "server_cpu": server_cpu}


def only_directory(tree: Tree) -> str:
    """The one directory of a flat tree (write_tree names them)."""
    names = [p.name for p in tree.root.iterdir() if p.is_dir()]
    if len(names) != 1:
        raise RuntimeError(f"{tree.root} has {len(names)} directories, not one")
    return names[0]


def expected_names(tree: Tree, shape: str) -> list[str]:
    """What ferry ls prints: the flat directory's file names, or every file's path below the tree, in byte order."""
    if shape == "flat":
        names = [p.name for p in (tree.root / only_directory(tree)).iterdir()]
    else:
        names = [str(p.relative_to(tree.root)) for p in tree.root.rglob("*") if p.is_file()]
    return sorted(names, key=lambda name: name.encode())


def check_names(printed: list[str], expected: list[str], what: str) -> None:
    if printed != expected:
        missing = len(set(expected) - set(printed))
        raise RuntimeError(f"{what} printed {len(printed)} names, {missing} of the {len(expected)} stored missing, or "
                           "out of byte order")


def summarize(bench: Bench, shape: str, count: int, entries: list[dict]) -> None:
    values = lambda tool, key: [e[key] for e in entries if e["tool"] == tool]
    foreign = [e["foreign_pct"] for e in entries]
    peer = TOOLS[shape][1]
    what = f"{count:,} entries, {'one directory' if shape == 'flat' else f'{LISTING_DIRECTORIES} directories, -R'}"
    seconds = values("ferry", "seconds")
    bench.row("9", f"{what}: seconds end to end, {LABELS['ferry']} vs {LABELS[peer]}", "s", seconds,
              values(peer, "seconds"), peer_name=peer, ratio=median_ratio(values(peer, "seconds"), seconds),
              target=f"< {TARGET_SECONDS:g} s" if count >= 100_000 else "",
              met=statistics.median(seconds) < TARGET_SECONDS if count >= 100_000 else None, foreign=foreign)
    for side in ("client", "server"):
        key = f"{side}_cpu"
        bench.row("9", f"{what}: {side} CPU seconds, {LABELS['ferry']} vs {LABELS[peer]}", "CPU-s", values("ferry", key),
                  values(peer, key), peer_name=peer, ratio=median_ratio(values("ferry", key), values(peer, key)),
                  foreign=foreign)
