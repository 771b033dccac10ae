"""Section 7 (issue #16, point 4): a legitimate upload from 127.0.0.1 alone, against the same upload while one other
source (127.0.0.2, a loopback address of its own) floods ferryd with connections that each send a genuine ClientHello
(recorded from a real `ferry upload`, so every one that is let through costs the server a full key exchange and a
signature). Two floods, each started just before the upload:

  burst       the issue's: FLOOD_CONNECTIONS connections opened as fast as one thread can, then held open (until the
              server closes them) to the upload's end;
  sustained   harsher: the same, but without end: as soon as FLOOD_CONNECTIONS are open the oldest is closed and
              another opened, so new connections keep coming (about 10,000 a second from one Python thread) until the
              upload ends.

ferryd runs its defaults for the per-source limits (`[limits] max_handshakes_per_source`, `handshake_rate_per_source`,
`handshake_burst_per_source`, `max_sessions_per_source`), so this shows what they are worth. Target: the upload keeps
≥ 80 % of its undisturbed speed. The flooder runs on the same 2-core machine: the CPU it uses itself is reported,
since it is taken from the client and the server alike, and so is the CPU the flood costs ferryd — most of it in the
kernel (accepting and tearing down TCP connections), which no user-space limit avoids: beyond that, a firewall rule
per source (nftables `meter`, iptables `hashlimit`) is the defence, as docs/SECURITY.md says."""
from __future__ import annotations

import os
import resource
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

from ..bench import Bench
from ..daemons import Ferryd
from ..files import warm
from ..guard import guarded
from ..progress import log
from ..stats import median_ratio, rotated, with_rates
from ..tools import describe, ferry_upload
from ..units import human_bytes

FLOOD_SOURCE = "127.0.0.2"
FLOOD_CONNECTIONS = 5_000  # per wave, as issue #16 point 4 says
TARGET_FLOOD_RATIO = 0.8
RECORD_HEADER = struct.Struct(">BI")  # docs/PROTOCOL.md §5.1: record_type, length


def section_7(bench: Bench) -> None:
    """One upload to tmpfs, alone and beside a flood of connections and ClientHellos from another source."""
    size = bench.sizes.upload
    source = bench.payload("upload.bin", size)
    daemon = bench.daemon("flood")
    hello = record_client_hello(bench)
    log(f"[7] recorded a ClientHello of {len(hello)} bytes from ferry upload; flooding from {FLOOD_SOURCE} in waves of "
        f"{FLOOD_CONNECTIONS:,} connections")
    raise_descriptor_limit(FLOOD_CONNECTIONS + 256)
    entries = []
    for run in range(bench.args.runs):
        for way in rotated(["alone", "burst", "sustained"], run):
            def prepare() -> None:
                daemon.clear_storage(), os.sync(), warm(source)
            measure = lambda: ferry_upload(bench, daemon, [source]) if way == "alone" \
                else flooded_upload(bench, daemon, source, hello, sustained=way == "sustained")
            entry = with_rates(guarded(f"7 {way}", measure, prepare))
            entry.update(run=run + 1, way=way)
            text = describe(entry)
            if way != "alone":
                text += (f"; flood: {entry['flood_connected']:,} connections ({entry['flood_failed']:,} connects or "
                         f"sends failed), flooder {entry['flooder_cpu']:.2f} CPU-s")
            log(f"[7] run {run + 1}/{bench.args.runs}: {way:<9} {text}")
            bench.record("7", entry)
            entries.append(entry)
    daemon.clear_storage()
    values = lambda way, key: [e[key] for e in entries if e["way"] == way]
    foreign = [e["foreign_pct"] for e in entries]
    for way, what in (("burst", f"opens {FLOOD_CONNECTIONS:,} connections at once"),
                      ("sustained", f"keeps opening connections, {FLOOD_CONNECTIONS:,} held at a time")):
        ratio = median_ratio(values(way, "mb_per_s"), values("alone", "mb_per_s"))
        bench.row("7", f"1 upload of {human_bytes(size)} → tmpfs from 127.0.0.1 while {FLOOD_SOURCE} {what}, each "
                  "sending a ClientHello (ferryd's default per-source limits), vs the same upload alone", "MB/s",
                  values(way, "mb_per_s"), values("alone", "mb_per_s"), peer_name="alone", ratio=ratio,
                  target=f"≥ {TARGET_FLOOD_RATIO:.0%}", met=ratio >= TARGET_FLOOD_RATIO, foreign=foreign)
        bench.row("7", f"same ({way}): connections the flood made during the upload", "connections",
                  values(way, "flood_connected"), None)
        bench.row("7", f"same ({way}): the flooder's own CPU, in cores of this 2-core machine (taken from client and "
                  "server alike)", "cores", [e["flooder_cpu"] / e["seconds"] for e in entries if e["way"] == way], None)
        bench.row("7", f"same ({way}): ferryd CPU-s/GB, flooded vs alone", "CPU-s/GB", values(way, "server_cpu_per_gb"),
                  values("alone", "server_cpu_per_gb"), peer_name="alone",
                  ratio=median_ratio(values(way, "server_cpu_per_gb"), values("alone", "server_cpu_per_gb")))


def flooded_upload(bench: Bench, daemon: Ferryd, source: Path, hello: bytes, sustained: bool) -> dict:
    """ferry_upload while a Flooder runs, started a moment before so the upload meets it at its height."""
    with Flooder(daemon.port, hello, sustained) as flood:
        while flood.connected < min(1_000, FLOOD_CONNECTIONS) and flood.error is None:
            time.sleep(0.01)
        entry = ferry_upload(bench, daemon, [source])
    if flood.error is not None:
        raise RuntimeError(f"the flood failed: {flood.error}")
    return dict(entry, flood_connected=flood.connected, flood_failed=flood.failed, flooder_cpu=flood.cpu)


class Flooder:
    """One thread: connections from FLOOD_SOURCE, each sending `hello` as soon as it is connected; FLOOD_CONNECTIONS
    of them, held until stopped, or (`sustained`) without end, the oldest closed whenever FLOOD_CONNECTIONS are open.
    Counts the connections made and the connects or sends that failed (a server that refuses at accept closes after
    the hello was sent: that counts as made)."""

    def __init__(self, port: int, hello: bytes, sustained: bool) -> None:
        self.port, self.hello, self.sustained = port, hello, sustained
        self.connected = self.failed = 0
        self.cpu = 0.0
        self.error: Exception | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Flooder:
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        start = time.thread_time()
        live: list[socket.socket] = []
        try:
            while not self._stop.is_set():
                if not self.sustained and self.connected + self.failed >= FLOOD_CONNECTIONS:
                    self._stop.wait()
                    break
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                try:
                    s.bind((FLOOD_SOURCE, 0))
                    s.connect(("127.0.0.1", self.port))
                    s.setblocking(False)
                    s.send(self.hello)
                    self.connected += 1
                    live.append(s)
                except OSError:
                    self.failed += 1
                    s.close()
                while len(live) > FLOOD_CONNECTIONS:
                    live.pop(0).close()
        except Exception as error:  # reported by flooded_upload
            self.error = error
        finally:
            for s in live:
                s.close()
            self.cpu = time.thread_time() - start


def record_client_hello(bench: Bench) -> bytes:
    """The first record `ferry upload` sends (its ClientHello, §6.2), taken by a listener that answers nothing."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(30)
    port = listener.getsockname()[1]
    probe = bench.payload("hello-probe.bin", 1)
    ferry = subprocess.Popen([bench.bin / "ferry", "upload", "--server", f"127.0.0.1:{port}",
                              *bench.ferry_credentials(), "--retries", "0", probe],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        connection, _ = listener.accept()
        with connection:
            connection.settimeout(30)
            data = b""
            while len(data) < RECORD_HEADER.size or len(data) < RECORD_HEADER.size + RECORD_HEADER.unpack_from(data)[1]:
                chunk = connection.recv(65536)
                if not chunk:
                    raise RuntimeError(f"ferry closed after {len(data)} bytes, before a whole ClientHello")
                data += chunk
            record_type, length = RECORD_HEADER.unpack_from(data)
            if record_type != 0x01 or data[RECORD_HEADER.size] != 0x01:
                raise RuntimeError(f"the first record is not a plaintext ClientHello (type {record_type:#x})")
            return data[:RECORD_HEADER.size + length]
    finally:
        ferry.kill()
        ferry.wait()
        listener.close()


def raise_descriptor_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            raise RuntimeError(f"the flood needs {wanted} descriptors, the hard limit is {hard}: raise ulimit -Hn")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
