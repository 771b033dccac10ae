"""The results: the table on stdout (one line per summary row, medians with min–max, ratio, target, foreign load) with
its notes, and the JSON file (the header, options, sizes, summary rows, every raw per-run figure, errors, notes)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from .bench import Bench
from .progress import log
from .sections import SECTIONS
from .settings import FERRY_CIPHER, FOREIGN_REPEAT_PERCENT, SSH_CIPHER

COLUMNS = ["sec", "measurement", "Ferry median (min–max)", "peer median (min–max)", "ratio", "target", "met",
           "fgn%"]


def format_value(v: float) -> str:
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def format_spread(s: dict | None) -> str:
    if not s:
        return "—"
    if len(s["runs"]) == 1:
        return format_value(s["median"])
    return f"{format_value(s['median'])} ({format_value(s['min'])}–{format_value(s['max'])})"


def table_lines(rows: list[dict], errors: dict[str, str], section_order: list[str]) -> list[str]:
    """The table proper: the column names, a rule, then the rows and the failed sections in section order."""
    lines = []
    for r in rows:
        lines.append([r["section"], r["measurement"], format_spread(r["ferry"]), format_spread(r["peer"]),
                      f"{r['ratio']:.2f}×" if r["ratio"] is not None else "—", r["target"] or "—",
                      {True: "yes", False: "NO", None: "—"}[r["met"]],
                      f"{r['foreign_pct_max']:.0f}" if r["foreign_pct_max"] is not None else "—"])
    for name, error in errors.items():
        lines.append([name, f"FAILED: {error.splitlines()[0][:100]}", "", "", "", "", "", ""])
    lines.sort(key=lambda line: section_order.index(line[0]))  # stable: rows keep their order within a section
    widths = [max(len(COLUMNS[i]), *(len(line[i]) for line in lines)) if lines else len(COLUMNS[i])
              for i in range(len(COLUMNS))]
    fmt = lambda cells: " | ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    return [fmt(COLUMNS), fmt(["-" * w for w in widths]), *(fmt(line) for line in lines)]


def print_table(bench: Bench, header: dict) -> None:
    m = header["machine"]
    print()
    print(f"Ferry scripts/bench, {header['date']} — {'--quick, ' if bench.args.quick else ''}{bench.args.runs} runs, "
          f"medians (min–max)")
    print(f"machine: nproc {m['nproc']}, {m['cpu_model']}, kernel {m['kernel']}, {m['memory_gib']} GiB")
    print(f"ferry: {header['ferry']['describe']} ({header['ferry']['commit']}, branch {header['ferry']['branch']}); "
          f"{header['tools']['openssh']}; {header['tools']['openssl']}; {header['tools'].get('rsync', 'rsync ?')}")
    print()
    for line in table_lines(bench.rows, bench.errors, list(SECTIONS)):
        print(line)
    print()
    for note in table_notes(bench):
        print(f"- {note}")


def table_notes(bench: Bench) -> list[str]:
    return [
        "ratio = Ferry median / peer median. MB = 10^6 bytes, GB = 10^9 bytes. Upload MB/s (and section 8's files/s) "
        "from the wall time of the whole command (process start to exit: connection setup, the walk of a tree and, "
        "for Ferry, the commit included).",
        f"AES-256-GCM on both sides (ferryd ciphers = [\"{FERRY_CIPHER}\"], ssh -o Ciphers={SSH_CIPHER}, rsync's "
        "ssh too); scp is OpenSSH 9's default SFTP mode; ferryd stores with [storage] fsync = false except in the "
        "durable and \"fsync=true\" rows, and with its default direct_io = true (O_DIRECT) except in the "
        "\"direct_io = false\" rows (page cache, as sftp/scp/rsync). ferry and rsync -a keep modification times, scp "
        "and sftp (without -p) do not.",
        "server CPU: ferryd = utime+stime delta (all threads); sshd = utime+stime+cutime+cstime delta of the "
        "listener after every connection child (and its sftp-server or remote rsync) was reaped into it. client CPU: "
        "wait4 rusage of ferry / of sftp, scp or rsync, which includes the ssh child they reap.",
        "handshakes: Ferry's are mutually authenticated (client certificate verified, ECDSA P-256 both sides), "
        "8 concurrent sessions, group x25519 in section 3 (as s_time's), every group in 5b; s_time: server "
        "authentication only, one connection at a time, X25519, s_server holding ferryd's own P-256 certificate and key.",
        f"fgn%: the highest CPU use (in % of one core) of processes outside the bench during that row's runs; a run "
        f"over {FOREIGN_REPEAT_PERCENT} % was repeated once. Kernel threads (writeback, softirq) are not counted.",
        *bench.notes,
    ]


def write_json(bench: Bench, header: dict, path: Path) -> None:
    document = {**header, "options": vars(bench.args), "sizes": dataclasses.asdict(bench.sizes),
                "filesystems": bench.filesystems, "fsync_key": bench.fsync_key,
                "summary": bench.rows, "raw": bench.raw, "errors": bench.errors, "notes": table_notes(bench)}
    path.write_text(json.dumps(document, indent=2, default=str, ensure_ascii=False) + "\n")
    log(f"wrote {path}")
