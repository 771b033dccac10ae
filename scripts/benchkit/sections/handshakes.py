"""Section 3: handshakes per second with mutual authentication, `ferry loadtest` (8 sessions, group x25519) against
this bench's ferryd, and `openssl s_time -new` against an `openssl s_server` holding ferryd's own certificate and
key."""
from __future__ import annotations

import subprocess

from ..bench import Bench
from ..guard import guarded
from ..parsers import s_time_connections
from ..ports import wait_listening
from ..processes import check_client, run_client
from ..progress import log
from ..settings import TARGET_HANDSHAKE_RATIO
from ..stats import median_ratio, rotated
from ..tools import ferry_loadtest


def s_time(bench: Bench, port: int, seconds: int) -> dict:
    """`openssl s_time -new`: connections divided by the wall time of s_time (as baseline.md)."""
    run = run_client(bench.procs, ["openssl", "s_time", "-connect", f"127.0.0.1:{port}", "-new", "-time",
                                   str(seconds)], bench.work)
    check_client(run, "openssl s_time")
    connections = s_time_connections(run.stdout)
    return {"tool": "s_time", "connections": connections, "seconds": run.wall,
            "handshakes_per_s": connections / run.wall, "client_cpu": run.cpu}


def start_s_server(bench: Bench) -> tuple[subprocess.Popen, int]:
    """openssl s_server with ferryd's own certificate and key (ECDSA P-256), TLS 1.3, X25519, -www."""
    port = bench.ports.take()
    log_path = bench.work / "s_server.log"
    proc = bench.procs.spawn(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert",
                              bench.certs / "server.crt", "-key", bench.certs / "server.key", "-tls1_3", "-groups",
                              "X25519", "-www", "-quiet"], log_path, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL)
    wait_listening(proc, port, 1, log_path, "openssl s_server")
    return proc, port


def section_3(bench: Bench) -> None:
    """Handshakes/s: ferry loadtest (8 sessions, mutual auth) against s_time against s_server."""
    seconds = bench.sizes.handshake_seconds
    daemon = bench.daemon("handshakes")
    server, port = start_s_server(bench)
    entries = []
    try:
        for run in range(bench.args.runs):
            for tool in rotated(["ferry", "s_time"], run):
                if tool == "ferry":
                    def measure() -> dict:
                        # The group s_time uses (X25519), so the ratio compares like with like; section 5b has
                        # every group, the default x25519-mlkem768 among them.
                        report = ferry_loadtest(bench, daemon, "--sessions", "8", "--files-per-session", "0",
                                                "--duration", str(seconds), "--group", "x25519")
                        hs = report["handshakes"]
                        return {"tool": "ferry", "handshakes_per_s": hs["per_second"],
                                "p50_ms": hs["latency_ms"]["p50"], "p99_ms": hs["latency_ms"]["p99"],
                                "loadtest": report}
                else:
                    measure = lambda: s_time(bench, port, seconds)
                entry = guarded(f"3 {tool}", measure)
                entry["run"] = run + 1
                log(f"[3] run {run + 1}/{bench.args.runs}: {tool} {entry['handshakes_per_s']:.0f} handshakes/s, "
                    f"fgn {entry['foreign_pct']:.0f} %")
                bench.record("3", entry)
                entries.append(entry)
    finally:
        bench.procs.stop(server)
    ferry = [e for e in entries if e["tool"] == "ferry"]
    peer = [e["handshakes_per_s"] for e in entries if e["tool"] == "s_time"]
    ferry_rate = [e["handshakes_per_s"] for e in ferry]
    ratio = median_ratio(ferry_rate, peer)
    foreign = [e["foreign_pct"] for e in entries]
    bench.row("3", "handshakes/s, X25519: ferry loadtest (8 sessions, mutual auth) vs s_time (1 at a time)", "1/s",
              ferry_rate, peer, peer_name="s_time", ratio=ratio, target=f"≥ {TARGET_HANDSHAKE_RATIO:g}× s_time",
              met=ratio >= TARGET_HANDSHAKE_RATIO, foreign=foreign)
    bench.row("3", "ferry handshake latency p50, ms", "ms", [e["p50_ms"] for e in ferry], None, foreign=foreign)
    bench.row("3", "ferry handshake latency p99, ms", "ms", [e["p99_ms"] for e in ferry], None, foreign=foreign)
