"""Ports on 127.0.0.1: a free one for each server, and waiting until a server listens on its port."""
from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from .procfs import listening_sockets


def wait_listening(proc: subprocess.Popen, port: int, sockets: int, log_path: Path, what: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
        found = listening_sockets(port)
        if found >= sockets or (found and time.monotonic() > deadline - 12):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} does not listen on 127.0.0.1:{port}:\n{log_path.read_text()[-3000:]}")


class Ports:
    """Free ports on 127.0.0.1 below the ephemeral range, never the same one twice."""

    def __init__(self, first: int = 20000) -> None:
        self.next = first

    def take(self) -> int:
        while True:
            port, self.next = self.next, self.next + 1
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                    return port
                except OSError:
                    continue
