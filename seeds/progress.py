"""
Terminal output of the seed command: a progress bar while it runs (only on a
terminal, only once a run takes more than a moment) and a summary table.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 30
SHOW_AFTER_SECONDS = 1.0


class ProgressBar:
    """
    ``update(done, total)`` redraws one line on ``stream``; silent when the
    stream is not a terminal or the run is still young.
    """

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.started = time.perf_counter()
        self.drawn = False

    def update(self, done: int, total: int) -> None:
        elapsed = time.perf_counter() - self.started
        if not self.enabled or total <= 0 or elapsed < SHOW_AFTER_SECONDS:
            return
        filled = BAR_WIDTH * done // total
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.stream.write(
            f"\r{self.label} [{bar}] {done}/{total} users  {elapsed:5.1f} s"
        )
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
