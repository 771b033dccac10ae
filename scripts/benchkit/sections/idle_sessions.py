"""Section 4: ferryd's RSS with K idle authenticated sessions (`ferry loadtest --idle-sessions`), KiB per session."""
from __future__ import annotations

import resource
import statistics

from ..bench import Bench
from ..daemons import Ferryd
from ..guard import guarded
from ..progress import log
from ..settings import TARGET_KIB_PER_SESSION
from ..tools import ferry_loadtest


def idle_sessions_once(bench: Bench, idle: int, name: str) -> dict:
    """A fresh ferryd (so that 'before' is a fresh daemon's), K idle sessions from ferry loadtest, the daemon stopped."""
    daemon = Ferryd(bench, name, bench.shm / "ferryd-idle", fsync=False,
                    limits={"max_sessions": str(idle + 100), "idle_timeout": "3600"}).start()
    try:
        report = ferry_loadtest(bench, daemon, "--sessions", "0", "--files-per-session", "0",
                                "--idle-sessions", str(idle))
    finally:
        daemon.stop()
    established = report["idle_sessions"]["established"]
    if established != idle:
        raise RuntimeError(f"only {established} of {idle} idle sessions were established")
    d = report["daemon"]
    return {"rss_kib_before": d["rss_kib_before"], "rss_kib_with_idle": d["rss_kib_with_idle"],
            "kib_per_session": (d["rss_kib_with_idle"] - d["rss_kib_before"]) / idle, "loadtest": report}


def section_4(bench: Bench) -> None:
    """ferryd RSS with K idle authenticated sessions, a fresh daemon for every run (repeats included)."""
    idle = bench.sizes.idle_sessions
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if limit < idle + 200:  # ferryd and ferry loadtest each hold one descriptor per session, plus their own
        raise RuntimeError(f"RLIMIT_NOFILE is {limit}: too low for {idle} idle sessions")
    entries = []
    for run in range(bench.args.runs):
        entry = guarded("4", lambda: idle_sessions_once(bench, idle, f"idle-{run + 1}"))
        entry["run"] = run + 1
        log(f"[4] run {run + 1}/{bench.args.runs}: RSS {entry['rss_kib_before']} KiB → {entry['rss_kib_with_idle']} "
            f"KiB with {idle} idle sessions: {entry['kib_per_session']:.1f} KiB each, fgn {entry['foreign_pct']:.0f} %")
        bench.record("4", entry)
        entries.append(entry)
    foreign = [e["foreign_pct"] for e in entries]
    per_session = [e["kib_per_session"] for e in entries]
    bench.row("4", "ferryd RSS before, KiB (fresh daemon)", "KiB", [e["rss_kib_before"] for e in entries], None,
              foreign=foreign)
    bench.row("4", f"ferryd RSS with {idle:,} idle sessions, KiB", "KiB", [e["rss_kib_with_idle"] for e in entries],
              None, foreign=foreign)
    bench.row("4", "ferryd RSS per idle authenticated session, KiB", "KiB", per_session, None,
              target=f"≤ {TARGET_KIB_PER_SESSION} KiB", met=statistics.median(per_session) <= TARGET_KIB_PER_SESSION,
              foreign=foreign)
