"""The state the sections share: options and sizes, directories and certificates, the servers (started on first use
and kept for the whole run), payload files, and the figures recorded so far."""
from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from .daemons import DAEMONS, Ferryd, Sshd
from .files import Tree, write_random_file, write_tree
from .host import filesystem_type
from .ports import Ports
from .processes import Processes, run_quiet
from .progress import log
from .settings import CLIENT_NAME, FULL, KEY_TYPE, QUICK
from .stats import spread
from .units import human_bytes


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.sizes = QUICK if args.quick else FULL
        self.procs = Processes()
        self.ports = Ports()
        self.temp_dirs: list[Path] = []
        self.fsync_key = True
        self.index_key = True
        self.notes: list[str] = []
        self.raw: dict[str, list] = {}
        self.rows: list[dict] = []
        self.errors: dict[str, str] = {}
        self.daemons: dict[str, Ferryd] = {}
        self.sshd: Sshd | None = None
        self.bin = Path()  # set once built
        self.work = self.shm = self.ext4 = self.certs = Path()  # set by setup()
        self.filesystems: dict[str, dict] = {}

    # -- lifecycle

    def make_temp_dir(self, parent: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix="ferry-bench.", dir=parent))
        self.temp_dirs.append(path)
        return path

    def setup(self) -> None:
        self.work = self.make_temp_dir("/var/tmp")
        self.shm = self.make_temp_dir("/dev/shm")
        self.ext4 = self.make_temp_dir(self.args.ext4_dir)
        self.check_filesystems()
        self.certs = self.work / "certs"
        ferry = str(self.bin / "ferry")
        run_quiet([ferry, "ca", "init", "--dir", str(self.work / "ca")])
        run_quiet([ferry, "ca", "issue", "--dir", str(self.work / "ca"), "--name", "server", "--server",
                   "--san", "IP:127.0.0.1", "--key-type", KEY_TYPE, "--out", str(self.certs)])
        run_quiet([ferry, "ca", "issue", "--dir", str(self.work / "ca"), "--name", CLIENT_NAME, "--client",
                   "--key-type", KEY_TYPE, "--out", str(self.certs)])
        self.fsync_key = self.probe_fsync_key()
        self.index_key = self.probe_index_key()
        log(f"work directory {self.work}, tmpfs {self.shm}, ext4 {self.ext4}")

    def check_filesystems(self) -> None:
        ext4_type, ext4_source = filesystem_type(self.ext4)
        shm_type, _ = filesystem_type(self.shm)
        if ext4_type != "ext4":
            raise SystemExit(f"--ext4-dir {self.args.ext4_dir} is on {ext4_type} ({ext4_source}), not ext4")
        if shm_type != "tmpfs":
            raise SystemExit(f"/dev/shm is {shm_type}, not tmpfs")
        self.filesystems = {"ext4": {"dir": str(self.ext4), "type": ext4_type, "source": ext4_source},
                            "tmpfs": {"dir": str(self.shm), "type": shm_type}}

    def probe_fsync_key(self) -> bool:
        """Whether this ferryd knows [storage] fsync (older builds do not); without it every run fsyncs."""
        if self.check_generated(Ferryd(self, "probe", self.shm / "probe", fsync=False), "fsync"):
            return True
        note = ("this ferryd does not know [storage] fsync yet (merge main): the 'fsync = false' runs fsync every "
                "file at commit, like the durable run")
        log(f"warning: {note}")
        self.notes.append(note)
        return False

    def probe_index_key(self) -> bool:
        """Whether this ferryd knows [index] (older builds keep no index: their index-off rows are the same daemon)."""
        if self.check_generated(Ferryd(self, "probe-index", self.shm / "probe-index", index=False), "index"):
            return True
        note = "this ferryd keeps no metadata index yet: the 'index off' rows measure the same daemon as the others"
        log(f"warning: {note}")
        self.notes.append(note)
        return False

    def check_generated(self, probe: Ferryd, key: str) -> bool:
        """`ferryd check-config` on the probe's generated configuration: True when taken, False when refused for `key`
        (a build that predates it); any other refusal is the bench's own error."""
        probe.dir.mkdir()
        probe.root.mkdir()
        config = probe.dir / "ferryd.toml"
        config.write_text(probe.config_text())
        result = subprocess.run([str(self.bin / "ferryd"), "check-config", "--config", str(config)],
                                capture_output=True, text=True)
        if result.returncode == 0:
            return True
        if key not in result.stdout + result.stderr:
            raise RuntimeError(f"ferryd check-config refused the generated configuration:\n{result.stderr}")
        return False

    def cleanup(self) -> None:
        self.procs.stop_all()
        if self.args.keep:
            log(f"kept: {', '.join(map(str, self.temp_dirs))}")
        else:
            for path in self.temp_dirs:
                shutil.rmtree(path, ignore_errors=True)

    # -- servers, started on first use and kept for the whole run

    def daemon(self, name: str) -> Ferryd:
        """The named ferryd of DAEMONS, started on first use."""
        if name not in self.daemons:
            place, options = DAEMONS[name]
            root = (self.shm if place == "tmpfs" else self.ext4) / f"ferryd-{name}"
            self.daemons[name] = Ferryd(self, name, root, **options).start()
        return self.daemons[name]

    def ssh(self) -> Sshd:
        if self.sshd is None:
            self.sshd = Sshd(self).start()
        return self.sshd

    def ssh_destination(self, place: str) -> Path:
        path = (self.shm if place == "tmpfs" else self.ext4) / "ssh-dest"
        path.mkdir(exist_ok=True)
        return path

    def payload(self, name: str, size: int) -> Path:
        """A random file in the work directory (on ext4), written once, warm in the page cache."""
        path = self.work / "payload" / name
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            log(f"writing {human_bytes(size)} of random data to {path}")
            write_random_file(path, size)
        return path

    def tree(self, name: str, count: int, size: int, directories: int) -> Tree:
        """A tree of `count` random files of `size` bytes in the work directory (on ext4), written once per run of the
        bench and reused by every run and tool."""
        tree = Tree(self.work / "trees" / name, count, size, directories)
        if not tree.root.exists():
            log(f"writing {count:,} files of {human_bytes(size)} in {directories} directories to {tree.root}")
            started = time.monotonic()
            write_tree(tree)
            log(f"  written in {time.monotonic() - started:.1f} s")
        return tree

    def ferry_credentials(self) -> list[str]:
        return ["--ca", f"{self.work}/ca/ca.crt", "--cert", f"{self.certs}/{CLIENT_NAME}.crt",
                "--key", f"{self.certs}/{CLIENT_NAME}.key"]

    # -- results

    def record(self, section: str, entry: dict) -> None:
        self.raw.setdefault(section, []).append(entry)

    def row(self, section: str, measurement: str, unit: str, ferry: list[float] | None, peer: list[float] | None,
            *, peer_name: str = "", ratio: float | None = None, target: str = "", met: bool | None = None,
            foreign: list[float] = ()) -> None:
        self.rows.append({"section": section, "measurement": measurement, "unit": unit,
                          "ferry": spread(ferry), "peer": spread(peer), "peer_name": peer_name,
                          "ratio": ratio, "target": target, "met": met,
                          "foreign_pct_max": max(foreign) if foreign else None})
