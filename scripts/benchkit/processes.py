"""The child processes the bench starts: setup commands run to completion, measured clients timed with their CPU, and
every child stopped on any exit."""
from __future__ import annotations

import dataclasses
import os
import resource
import signal
import subprocess
import threading
import time
from pathlib import Path

from .procfs import descendants_of
from .progress import log


def run_quiet(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Runs a setup command to completion; raises with its output if it fails."""
    result = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result


class Processes:
    """Every child the bench starts, so that any exit (normal, error, Ctrl-C, SIGTERM) stops them all."""

    def __init__(self) -> None:
        self.live: list[subprocess.Popen] = []

    def spawn(self, argv: list[str], log_path: Path | None = None, **kwargs) -> subprocess.Popen:
        """Starts argv; with log_path its stderr is appended to that file."""
        argv = [str(a) for a in argv]
        if log_path:
            with open(log_path, "a") as log_file:  # the child keeps its own descriptor
                proc = subprocess.Popen(argv, stderr=log_file, **kwargs)
        else:
            proc = subprocess.Popen(argv, **kwargs)
        self.live.append(proc)
        return proc

    def wait_usage(self, proc: subprocess.Popen, timeout: float | None = None) -> resource.struct_rusage:
        """Waits for a child and returns its os.wait4 rusage, which covers the process and its waited-for descendants
        (scp/sftp and their ssh): CPU summed, ru_maxrss (KiB) the largest of them."""
        # A blocking wait4, so that the caller's clock stops when the child exits; a timer kills it past `timeout`.
        expired = threading.Event()
        def kill() -> None:
            expired.set()
            for pid in [proc.pid] + descendants_of(proc.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        timer = threading.Timer(timeout, kill) if timeout else None
        if timer:
            timer.daemon = True
            timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            if timer:
                timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        self.live.remove(proc)
        if expired.is_set():
            raise TimeoutError(f"{proc.args[0]} did not finish within {timeout:.0f} s")
        return usage

    def wait_cpu(self, proc: subprocess.Popen, timeout: float | None = None) -> float:
        """Waits for a child and returns its user + system CPU seconds, including every child it reaped."""
        usage = self.wait_usage(proc, timeout)
        return usage.ru_utime + usage.ru_stime

    def stop(self, proc: subprocess.Popen, grace: float = 10.0) -> None:
        """SIGTERM to the process and its descendants (an sshd's connection children), SIGKILL after `grace` s."""
        if proc.poll() is None:
            family = [proc.pid] + descendants_of(proc.pid)
            for pid in family:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                for pid in family:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                proc.wait()
        if proc in self.live:
            self.live.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self.live)):
            try:
                self.stop(proc)
            except Exception as error:  # keep stopping the others
                log(f"could not stop {proc.args[0]} ({proc.pid}): {error}")


@dataclasses.dataclass
class ClientRun:
    wall: float
    cpu: float
    stdout: str
    stderr: str
    status: int
    max_rss_kib: int = 0  # the largest peak RSS of the clients (GNU time's %M, see run_clients)


# A child's ru_maxrss is never below the RSS of the process it was forked from: Linux records the old address space's
# high-water mark at execve (exec_mmap), and Python starts children with vfork, so wait4 reported the bench's own RSS
# (160 MiB once it held the big trees' results) as the client's. GNU time forks the client from its own small process
# and reports the client's %M: the clients run under it.
TIME = "/usr/bin/time"


def peak_rss_kib(path: Path) -> int:
    """GNU time's -o file: "%M" on its last line (after "Command exited with non-zero status N" when there is one)."""
    try:
        return int(path.read_text().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return 0


def run_clients(procs: Processes, commands: list[list[str]], workdir: Path, timeout: float = 1800) -> ClientRun:
    """Starts the commands together, waits for all; wall time from the first start to the last exit, CPU summed (GNU
    time reaps each client, so its wait4 covers the client's CPU), peak RSS the largest client's."""
    outputs, started, rss_files = [], [], []
    start = time.monotonic()
    for i, argv in enumerate(commands):
        out, err = open(workdir / f"client.{i}.out", "w+"), open(workdir / f"client.{i}.err", "w+")
        outputs.append((out, err))
        rss_files.append(workdir / f"client.{i}.maxrss")
        timed = [TIME, "-f", "%M", "-o", str(rss_files[-1]), *argv]
        started.append(procs.spawn(timed, stdout=out, stderr=err, stdin=subprocess.DEVNULL))
    usages = [procs.wait_usage(proc, timeout) for proc in started]
    wall = time.monotonic() - start
    cpu = sum(u.ru_utime + u.ru_stime for u in usages)
    texts = []
    for out, err in outputs:
        out.seek(0), err.seek(0)
        texts.append((out.read(), err.read()))
        out.close(), err.close()
    status = max((abs(p.returncode) for p in started), default=0)
    return ClientRun(wall, cpu, "".join(t[0] for t in texts), "".join(t[1] for t in texts), status,
                     max((peak_rss_kib(path) for path in rss_files), default=0))


def run_client(procs: Processes, argv: list[str], workdir: Path, timeout: float = 1800) -> ClientRun:
    return run_clients(procs, [argv], workdir, timeout)


def check_client(run: ClientRun, what: str) -> None:
    if run.status != 0:
        raise RuntimeError(f"{what} exited with {run.status}:\n{run.stderr[-2000:]}{run.stdout[-2000:]}")
