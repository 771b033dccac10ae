"""Section 8 (issue #17, point 6): many small files, where what each tool pays per file (the walk, an open, a round
trip, a create, a rename and the times on the server) outweighs what it pays per byte. Two parts:

  trees     a tree of 5,000 files of 4 KiB and one of 500 files of 1 MiB (TREE_DIRECTORIES subdirectories each), each
            uploaded to tmpfs and to ext4 by: `ferry upload --parallel 8` and `--parallel 1` to a ferryd with
            [storage] fsync = false (the like-for-like rows: rsync, scp and sftp do not fsync); `ferry upload
            --parallel 8` to a ferryd with its default fsync = true (its own rows); `rsync -a` over ssh; `scp -r`;
            and `sftp -b` with one `put -r` — one process for the whole tree each. ferryd keeps its default
            direct_io = true, as in section 1. Files/s (and MB/s) from the wall time of the command; CPU µs per file
            on each side (ferryd's CPU delta; sshd's with its reaped children, which hold the remote rsync and
            sftp-server; the client's wait4 rusage, ssh included). Targets: ferry --parallel 8 at least 1.2× rsync
            and 3× scp in files/s for 4 KiB files, 1.5× rsync for 1 MiB files.
  scaling   `ferry upload --parallel 8` of 10,000, 50,000 and 100,000 files of 1 KiB (SCALING_FILES_PER_DIRECTORY to a
            directory, so that only the count changes) to tmpfs, fsync = false: the client's CPU µs per file and its
            peak RSS (wait4's ru_maxrss) at each count, and whether CPU per file stays flat as the count grows (the
            largest count's over the smallest's): a client that does per-file work proportional to the whole list is
            quadratic, which 100,000 files show and 5,000 hide.

Each tree is written once per run of the bench into the work directory (Bench.tree) and read into the page cache
before every run; every destination is emptied before every run, and every run's stored tree checked (every file
there with its size, nothing else; for ferry also its --json report: ok, one entry per file)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..bench import Bench
from ..daemons import Ferryd
from ..files import Tree, clear_directory, retire_directory, warm_tree
from ..guard import guarded
from ..progress import log
from ..stats import median_ratio, paired_per_file_growth, rotated, with_file_rates
from ..tools import check_accounting, ferry_tree_upload, ssh_tree_upload
from ..units import KiB, MiB, human_bytes

TREE_DIRECTORIES = 10  # a few subdirectories, as a real tree has
SCALING_FILE_SIZE = KiB
SCALING_FILES_PER_DIRECTORY = 1_000
PARALLEL = 8  # ferry's sessions in the --parallel 8 rows and the scaling runs

# Targets of issue #17, point 6, by file size: files/s of ferry --parallel 8 (fsync = false) over each peer's.
TARGETS: dict[int, dict[str, float]] = {4 * KiB: {"rsync": 1.2, "scp": 3.0}, MiB: {"rsync": 1.5}}
# What "flat" is taken to mean for the client's CPU per file from the smallest to the largest count: this bench's own
# reading of "stays flat", with room for noise; a client quadratic in the file count grows 10× from 10k to 100k files.
FLAT_CPU_RATIO = 1.25

# The tools of a tree run, as they rotate; the three ferry ones: (ferryd of DAEMONS for the place, --parallel).
TOOLS = ["ferry", "ferry-j1", "ferry-fsync", "ferry-noindex", "rsync", "scp", "sftp"]
FERRY_TOOLS = {"ferry": ("{place}", PARALLEL), "ferry-j1": ("{place}", 1), "ferry-fsync": ("{place}-durable", PARALLEL),
               "ferry-noindex": ("{place}-noindex", PARALLEL)}
LABELS = {"ferry": f"ferry -j{PARALLEL}", "ferry-j1": "ferry -j1", "ferry-fsync": f"ferry -j{PARALLEL} fsync=true",
          "ferry-noindex": f"ferry -j{PARALLEL} index off", "rsync": "rsync -a", "scp": "scp -r", "sftp": "sftp put -r"}
# The table's comparisons for each tree and destination: (ferry tool, peer), the like-for-like ferry against each peer,
# then the one-session and the durable ferry against rsync.
PAIRS = [("ferry", "rsync"), ("ferry", "scp"), ("ferry", "sftp"), ("ferry-j1", "rsync"), ("ferry-fsync", "rsync")]


def section_8(bench: Bench) -> None:
    """Many small files: trees by ferry, rsync, scp -r and sftp to tmpfs and ext4; ferry's client CPU/file and RSS."""
    for count, size in bench.sizes.small_trees:
        tree = bench.tree(f"tree-{count}x{size}", count, size, min(TREE_DIRECTORIES, count))
        for place in ("tmpfs", "ext4"):
            summarize_trees(bench, tree, place, tree_runs(bench, tree, place))
    client_scaling(bench)


def tree_runs(bench: Bench, tree: Tree, place: str) -> list[dict]:
    """--runs runs of every tool uploading the tree to `place`, the tools rotating run by run."""
    daemons = {tool: bench.daemon(name.format(place=place)) for tool, (name, _) in FERRY_TOOLS.items()}
    destination = bench.ssh_destination(place)
    retired: set[Path] = set()
    def clear() -> None:
        for daemon in set(daemons.values()):
            daemon.clear_storage()
        clear_directory(destination)
        for path in retired:
            shutil.rmtree(path, ignore_errors=True)
    def empty() -> None:
        # ext4: what a run stored is moved aside and deleted after the last run (retire_directory says why); tmpfs
        # frees at once (RAM; its allocator has no such rule).
        if place != "ext4":
            return clear()
        for daemon in set(daemons.values()):
            if daemon.user_area.exists():
                retired.add(retire_directory(daemon.user_area))
        retired.add(retire_directory(destination))
    def prepare() -> None:
        empty(), os.sync(), warm_tree(tree)
    entries = []
    for run in range(bench.args.runs):
        for tool in rotated(TOOLS, run):
            measure = lambda tool=tool: upload_tree(bench, tool, tree, daemons, destination)
            entry = with_file_rates(guarded(f"8 {tree.name} {place} {tool}", measure, prepare))
            entry.update(run=run + 1, destination=place, tree=tree.name, file_size=tree.size)
            check_accounting(entry)
            log(f"[8 {tree.count:,} × {human_bytes(tree.size)} → {place}] run {run + 1}/{bench.args.runs}: "
                f"{describe(entry)}")
            bench.record("8", entry)
            entries.append(entry)
    clear()
    return entries


def upload_tree(bench: Bench, tool: str, tree: Tree, daemons: dict[str, Ferryd], destination: Path) -> dict:
    """One upload of the tree by one of TOOLS (ferry to its daemon, the others through the bench's sshd)."""
    if tool in FERRY_TOOLS:
        parallel = FERRY_TOOLS[tool][1]
        return dict(ferry_tree_upload(bench, daemons[tool], tree, parallel), tool=tool, parallel=parallel,
                    fsync=daemons[tool].fsync)
    return ssh_tree_upload(bench, tool, tree, destination)


def describe(entry: dict) -> str:
    """One run of a tree for the progress log."""
    text = (f"{entry['tool']:<11} {entry['seconds']:6.2f} s {entry['files_per_s']:7.0f} files/s "
            f"{entry['mb_per_s']:6.0f} MB/s, CPU µs/file server {entry['server_us_per_file']:.0f} client "
            f"{entry['client_us_per_file']:.0f}")
    if entry.get("client_max_rss_kib"):
        text += f", client peak RSS {entry['client_max_rss_kib'] / KiB:.0f} MiB"
    return text + f", fgn {entry['foreign_pct']:.0f} %"


def summarize_trees(bench: Bench, tree: Tree, place: str, entries: list[dict]) -> None:
    values = lambda tool, key: [e[key] for e in entries if e["tool"] == tool]
    foreign = [e["foreign_pct"] for e in entries]
    label = f"{tree.count:,} × {human_bytes(tree.size)} → {place}"
    targets = TARGETS.get(tree.size, {})
    for ferry, peer in PAIRS:
        ratio = median_ratio(values(ferry, "files_per_s"), values(peer, "files_per_s"))
        target = targets.get(peer) if ferry == "ferry" else None
        bench.row("8", f"{label}: files/s, {LABELS[ferry]} vs {LABELS[peer]}", "files/s", values(ferry, "files_per_s"),
                  values(peer, "files_per_s"), peer_name=peer, ratio=ratio,
                  target=f"≥ {target:g}× {peer}" if target else "", met=ratio >= target if target else None,
                  foreign=foreign)
    bench.row("8", f"{label}: MB/s, {LABELS['ferry']} vs {LABELS['rsync']}", "MB/s", values("ferry", "mb_per_s"),
              values("rsync", "mb_per_s"), peer_name="rsync",
              ratio=median_ratio(values("ferry", "mb_per_s"), values("rsync", "mb_per_s")), foreign=foreign)
    # Issue #18: the metadata index on (ferryd's default) against off, the same ferryd otherwise: what recording every
    # commit costs, in the same run.
    bench.row("8", f"{label}: files/s, {LABELS['ferry']} vs {LABELS['ferry-noindex']}", "files/s",
              values("ferry", "files_per_s"), values("ferry-noindex", "files_per_s"), peer_name="ferry-noindex",
              ratio=median_ratio(values("ferry", "files_per_s"), values("ferry-noindex", "files_per_s")),
              foreign=foreign)
    bench.row("8", f"{label}: server CPU µs/file, ferryd (index on) vs ferryd (index off)", "µs/file",
              values("ferry", "server_us_per_file"), values("ferry-noindex", "server_us_per_file"),
              peer_name="ferryd (index off)",
              ratio=median_ratio(values("ferry", "server_us_per_file"), values("ferry-noindex", "server_us_per_file")),
              foreign=foreign)
    for side in ("server", "client"):
        key = f"{side}_us_per_file"
        for ferry, peer in PAIRS:
            names = (f"ferryd ({LABELS[ferry]})", f"sshd ({peer})") if side == "server" else \
                (LABELS[ferry], f"{peer}+ssh")
            bench.row("8", f"{label}: {side} CPU µs/file, {names[0]} vs {names[1]}", "µs/file", values(ferry, key),
                      values(peer, key), peer_name=names[1], ratio=median_ratio(values(ferry, key), values(peer, key)),
                      foreign=foreign)


def scaling_directories(count: int) -> int:
    """How many directories a scaling tree of `count` files has: SCALING_FILES_PER_DIRECTORY in each, at least one."""
    return max(1, -(-count // SCALING_FILES_PER_DIRECTORY))


def client_scaling(bench: Bench) -> None:
    """ferry upload --parallel 8 of ever more 1 KiB files to tmpfs: the client's CPU per file and peak RSS."""
    counts = list(bench.sizes.scaling_counts)
    daemon = bench.daemon("tmpfs")
    trees = {count: bench.tree(f"scaling-{count}x{SCALING_FILE_SIZE}", count, SCALING_FILE_SIZE,
                               scaling_directories(count)) for count in counts}
    entries = []
    for run in range(bench.args.runs):
        for count in rotated(counts, run):
            tree = trees[count]
            prepare = lambda tree=tree: (daemon.clear_storage(), os.sync(), warm_tree(tree))
            measure = lambda tree=tree: ferry_tree_upload(bench, daemon, tree, PARALLEL)
            entry = with_file_rates(guarded(f"8 scaling {count}", measure, prepare))
            entry.update(run=run + 1, destination="tmpfs", tree=tree.name, file_size=tree.size, parallel=PARALLEL)
            log(f"[8 scaling] run {run + 1}/{bench.args.runs}: {count:>7,} files: {describe(entry)}")
            bench.record("8-scaling", entry)
            entries.append(entry)
    daemon.clear_storage()
    summarize_scaling(bench, counts, entries)


def summarize_scaling(bench: Bench, counts: list[int], entries: list[dict]) -> None:
    at = lambda count: [e for e in entries if e["files"] == count]
    values = lambda count, key, scale=1: [e[key] / scale for e in at(count)]
    foreign = [e["foreign_pct"] for e in entries]
    what = f"ferry -j{PARALLEL}, N × {human_bytes(SCALING_FILE_SIZE)} → tmpfs (fsync = false)"
    for count in counts:
        bench.row("8", f"{what}, N = {count:,}: files/s", "files/s", values(count, "files_per_s"), None,
                  foreign=foreign)
        bench.row("8", f"same, N = {count:,}: client CPU µs/file", "µs/file", values(count, "client_us_per_file"),
                  None, foreign=foreign)
        bench.row("8", f"same, N = {count:,}: client peak RSS", "MiB", values(count, "client_max_rss_kib", KiB), None,
                  foreign=foreign)
    small, large = min(counts), max(counts)
    ratio = median_ratio(values(large, "client_us_per_file"), values(small, "client_us_per_file"))
    bench.row("8", f"same: client CPU µs/file at N = {large:,} vs N = {small:,} (flat: the same per file)", "µs/file",
              values(large, "client_us_per_file"), values(small, "client_us_per_file"), peer_name=f"N = {small:,}",
              ratio=ratio, target=f"≤ {FLAT_CPU_RATIO:g}× (flat)", met=ratio <= FLAT_CPU_RATIO, foreign=foreign)
    bench.row("8", f"same: client peak RSS growth from N = {small:,} to {large:,}, per file (paired by run)",
              "KiB/file", paired_per_file_growth(at(large), at(small), "client_max_rss_kib"), None, foreign=foreign)
