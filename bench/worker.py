"""A real `celery -A covax worker` in a subprocess, for bench/upload.py and
tests/test_upload_worker_killed.py: prefork with one pool process, its log in a file,
its processes (main, pool, the pool's row-validating helpers) found through /proc so
that they can be measured and killed by their ids."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class CeleryWorker:
    def __init__(self, name: str, env: dict[str, str], log: Path, *, queue: str | None = None):
        self.name, self.log = name, log
        cmd = [
            sys.executable, "-m", "celery", "-A", "covax", "worker", *(["-Q", queue] if queue else []),
            "--pool=prefork", "--concurrency=1", "-n", f"{name}-{os.getpid()}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO",
        ]  # fmt: skip
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def tail(self) -> str:
        return f"--- worker {self.name} log ---\n{self.log.read_text(errors='replace')[-4000:]}"

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while b" ready." not in self.log.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"worker {self.name} did not start within {timeout:.0f} s\n{self.tail()}")
            time.sleep(0.2)

    def processes(self) -> list[int]:
        """The main process first, then its pool process and that one's helpers."""
        found, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop(0)
            found.append(pid)
            try:
                todo += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
            except OSError:
                pass
        return found

    def peak_rss_kb(self) -> int:
        """The largest peak resident set (VmHWM) of its processes now alive."""
        peak = 0
        for pid in self.processes():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
            except OSError:
                pass
        return peak

    def kill(self) -> list[int]:
        """SIGKILL every process, as when a machine dies; returns once none is left."""
        pids = self.processes()  # the main process first: it can no longer replace a pool process
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in pids):
            if time.monotonic() > deadline:
                raise RuntimeError(f"processes of worker {self.name} survived SIGKILL: {pids}")
            time.sleep(0.1)
        return pids


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] not in "ZX"
    except (OSError, IndexError):
        return False
