"""A test worker in its own process: started with `python -m MODULE`, told "go" on stdin,
and read line by line as it prints (the tests wait for what it says, never for a time)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WAIT = 60.0  # seconds a worker may take to print what a test waits for
EXITED = "<exited>"


class WorkerProcess:
    """One worker process and the lines it printed, as they come."""

    def __init__(self, name: str, module: str, *args: str) -> None:
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, "--worker", name, *args],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())
        self.lines.put(EXITED)

    def expect(self, prefix: str, *, exactly: bool = False) -> str:
        """The first line starting with `prefix` (or equal to it, `exactly`); the lines
        before it are passed over."""
        while True:
            try:
                line = self.lines.get(timeout=WAIT)
            except queue.Empty:
                pytest.fail(f"worker {self.name} never printed {prefix!r}")
            if line == prefix or (not exactly and line.startswith(prefix)):
                return line
            if line == EXITED:
                pytest.fail(f"worker {self.name} exited before printing {prefix!r}")

    def go(self) -> None:
        """Tell the worker to start its run."""
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def kill(self) -> None:
        """SIGKILL: no cleanup, no finally, the leases stay behind."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(WAIT)
