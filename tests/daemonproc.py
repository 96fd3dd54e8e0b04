"""``newswatch run`` as a real subprocess, with its JSON log read back as events."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


class DaemonProcess:
    """One daemon process: start it, watch its log, signal it."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> DaemonProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
        env["PYTHONUNBUFFERED"] = "1"
        command = [sys.executable, "-m", "newswatch", "--config", str(self.config)]
        with self.log.open("ab") as stderr:
            self.process = subprocess.Popen(
                [*command, "run", "--log-format", "json"],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=env,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        """The daemon's log records so far (those with ``event == name``, if given)."""
        records = []
        if not self.log.exists():
            return records
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a traceback line, or a line being written
            if name is None or record.get("event") == name:
                records.append(record)
        return records

    def wait_for(
        self, what: Callable[[], object], *, timeout: float = 20, message: str = ""
    ) -> Any:
        """Poll ``what`` until it returns something truthy; fail with the log if it never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = what()
            if value:
                return value
            if self.process is not None and self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(
            f"timed out waiting for {message or what}; daemon exit code "
            f"{self.process.poll() if self.process else None}; log:\n{self.tail()}"
        )

    def wait_for_event(self, name: str, *, count: int = 1, timeout: float = 20) -> list[Any]:
        return self.wait_for(
            lambda: (found := self.events(name)) and len(found) >= count and found,
            timeout=timeout,
            message=f"{count} x {name}",
        )

    def signal(self, signum: int = signal.SIGTERM) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
