"""The files the bench moves: random payloads, read once into the page cache, and destinations emptied between runs."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .units import MiB


def write_random_file(path: Path, size: int) -> None:
    """size bytes of incompressible data: AES-CTR keystream from openssl (GB/s; /dev/urandom is ~100 MB/s here)."""
    key = os.urandom(32).hex()
    generator = subprocess.Popen(["openssl", "enc", "-aes-256-ctr", "-nosalt", "-pass", f"pass:{key}", "-in",
                                  "/dev/zero"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        with open(path, "wb") as out:
            remaining = size
            while remaining:
                chunk = generator.stdout.read(min(remaining, 8 * MiB))
                out.write(chunk)
                remaining -= len(chunk)
    finally:
        generator.kill()
        generator.wait()


def warm(path: Path) -> None:
    """Reads the file once so that it sits in the page cache."""
    with open(path, "rb") as f:
        while f.read(16 * MiB):
            pass


def clear_directory(path: Path) -> None:
    for entry in path.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
