"""What the bench runs with: the repository, ciphers and key type, the tools' paths, the guard's thresholds, the
targets of issue #7, and the sizes of a full and of a --quick run."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from .units import GiB, KiB, MiB

REPO = Path(__file__).resolve().parents[2]  # scripts/benchkit/settings.py
NPROC = os.cpu_count() or 1

SSH_CIPHER = "aes256-gcm@openssh.com"
FERRY_CIPHER = "aes-256-gcm"
KEY_TYPE = "ecdsa-p256"  # ferry ca issues ed25519 by default; P-256 is what baseline.md's s_time figure used
CLIENT_NAME = "bench"  # the client certificate's CN: ferryd stores its files under <root>/bench/
RSYNC = "/usr/bin/rsync"  # on both sides: the remote one named with --rsync-path

IDLE_WAIT_SECONDS = 15  # wait at most this long for the machine to go idle before a measurement
IDLE_BUSY_CORES = 0.2  # "idle": less than this many cores busy over one second
FOREIGN_REPEAT_PERCENT = 20  # foreign load (% of one core) above which a run is repeated once
SSHD_CPU_PLAUSIBLE = 0.05  # CPU-s/GB below which the sshd (or ssh client) accounting must have missed its children

# Targets from issue #7.
TARGET_UPLOAD_RATIO = 2.0
TARGET_CPU_PER_GB = 0.8
TARGET_DURABLE_RATIO = 0.9
TARGET_PARALLEL_RATIO = 2.0
TARGET_HANDSHAKE_RATIO = 2.0
TARGET_KIB_PER_SESSION = 16
TARGET_ROTATION_COST_PERCENT = 3.0
ROTATION_MIN_RUNS = 6  # section 5a: its cost is a few %, below one run's spread


@dataclasses.dataclass(frozen=True)
class Sizes:
    upload: int  # section 1 and 5a
    parallel_file: int  # section 2, per file
    parallel_count: int
    idle_sessions: int  # section 4
    handshake_seconds: int  # sections 3 and 5b
    small_trees: tuple[tuple[int, int], ...]  # section 8: (files, bytes each) of each tree
    scaling_counts: tuple[int, ...]  # section 8: files of 1 KiB in each tree of the client-scaling runs
    listing_entries: int  # section 9: files of 1 KiB listed


FULL = Sizes(upload=2 * GiB, parallel_file=256 * MiB, parallel_count=16, idle_sessions=10_000, handshake_seconds=10,
             small_trees=((5_000, 4 * KiB), (500, MiB)), scaling_counts=(10_000, 50_000, 100_000),
             listing_entries=100_000)
QUICK = Sizes(upload=256 * MiB, parallel_file=64 * MiB, parallel_count=16, idle_sessions=1_000, handshake_seconds=3,
              small_trees=((500, 4 * KiB), (50, MiB)), scaling_counts=(1_000, 2_000, 4_000),
              listing_entries=5_000)
