"""What the figures came from, for the table's heading and the JSON file: the machine, ferry's commit, the tools'
versions."""
from __future__ import annotations

import os
import subprocess

from .parsers import cpu_model
from .processes import run_quiet
from .settings import NPROC, REPO, RSYNC


def machine_description() -> dict:
    with open("/proc/cpuinfo") as f:
        model = cpu_model(f.read())
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    return {"nproc": NPROC, "cpu_model": model, "kernel": os.uname().release,
            "memory_gib": round(mem_kib / 1024 / 1024, 1), "load_average": os.getloadavg()}


def ferry_commit() -> dict:
    git = lambda *a: subprocess.run(["git", "-C", str(REPO), *a], capture_output=True, text=True).stdout.strip()
    return {"commit": git("rev-parse", "HEAD"), "describe": git("describe", "--always", "--dirty"),
            "branch": git("rev-parse", "--abbrev-ref", "HEAD")}


def tool_versions() -> dict:
    ssh = subprocess.run(["ssh", "-V"], capture_output=True, text=True)
    rsync = subprocess.run([RSYNC, "--version"], capture_output=True, text=True).stdout
    return {"openssh": ssh.stderr.strip(), "openssl": run_quiet(["openssl", "version"]).stdout.strip(),
            "rsync": next(iter(rsync.splitlines()), "?"),
            "swift": next(iter(subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()
                               ), "?")}
