"""The one progress display: a text bar redrawn in place on a terminal (evaluation and training use it)."""

from __future__ import annotations

import time
from typing import Optional, TextIO


class ProgressBar:
    """A one-line text progress bar redrawn in place with carriage returns.

    Args:
        total: Number of steps, or ``None`` when unknown (only the count is shown).
        stream: Where to draw.
        width: Characters of the bar itself.
        done: Steps already done before this bar started (a resumed run); the rate counts only the new ones.
        unit: What a step is, when the total is unknown.
    """

    def __init__(
        self, total: Optional[int], stream: TextIO, width: int = 30, done: int = 0, unit: str = "batches"
    ) -> None:
        self.total = total
        self.stream = stream
        self.width = width
        self.done = self.first = done
        self.unit = unit
        self.start = time.monotonic()

    def step(self) -> None:
        """Advances by one and redraws."""
        self.update(self.done + 1)

    def update(self, done: int) -> None:
        """Redraws at ``done`` steps."""
        self.done = done
        elapsed = time.monotonic() - self.start
        rate = (self.done - self.first) / elapsed if elapsed > 0 else 0.0
        if self.total:
            filled = min(self.width, self.width * self.done // self.total)
            eta = (self.total - self.done) / rate if rate > 0 else 0.0
            line = f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} eta {eta:.0f}s"
        else:
            line = f"{self.done} {self.unit}"
        self.stream.write(f"\r{line} ({rate:.1f} it/s)")
        self.stream.flush()

    def clear(self) -> None:
        """Erases the bar, so that a log line can take its place; the next update draws it again."""
        self.stream.write("\r\033[K")
        self.stream.flush()

    def close(self) -> None:
        """Ends the line."""
        self.stream.write("\n")
        self.stream.flush()
