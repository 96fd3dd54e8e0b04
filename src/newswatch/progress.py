"""A one-line progress display for long CLI work, drawn on stderr when it is a terminal."""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO


class ProgressBar:
    """``[#####.....] 12/40 feeds  BBC News - World`` redrawn in place."""

    def __init__(self, total: int, *, unit: str = "feeds", stream: TextIO | None = None) -> None:
        self.total = max(total, 1)
        self.done = 0
        self._unit = unit
        self._stream = stream or sys.stderr
        self._started = time.monotonic()

    def advance(self, label: str = "") -> None:
        """Count one item done and redraw."""
        self.done += 1
        width = shutil.get_terminal_size((80, 20)).columns
        filled = int(20 * self.done / self.total)
        bar = "#" * filled + "." * (20 - filled)
        text = f"[{bar}] {self.done}/{self.total} {self._unit}  {label}"
        self._stream.write("\r" + text[: width - 1].ljust(width - 1))
        self._stream.flush()

    def finish(self) -> None:
        """Clear the line so the summary that follows starts clean."""
        width = shutil.get_terminal_size((80, 20)).columns
        self._stream.write("\r" + " " * (width - 1) + "\r")
        self._stream.flush()
