"""A progress bar on stderr: redrawn at most a few times a second, one line when piped."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30


class ProgressBar:
    def __init__(self, label: str, total: int, stream: TextIO = sys.stderr) -> None:
        self.label = label
        self.total = max(total, 1)
        self.done = 0
        self.stream = stream
        self.started = time.monotonic()
        self._drawn = 0.0
        self._tty = stream.isatty()

    def advance(self, amount: int) -> None:
        self.done = min(self.total, self.done + amount)
        now = time.monotonic()
        if self._tty and now - self._drawn >= 0.2:
            self._drawn = now
            self.stream.write("\r" + self.line(now))
            self.stream.flush()

    def finish(self) -> None:
        self.stream.write(("\r" if self._tty else "") + self.line(time.monotonic()) + "\n")
        self.stream.flush()

    def line(self, now: float) -> str:
        fraction = self.done / self.total
        filled = int(WIDTH * fraction)
        elapsed = now - self.started
        eta = elapsed / fraction - elapsed if fraction > 0 else 0.0
        return (
            f"{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] "
            f"{fraction:4.0%} {self.done:,}/{self.total:,} {elapsed:5.1f}s eta {eta:4.0f}s"
        )
