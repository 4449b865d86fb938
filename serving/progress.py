"""Progress of long runs (``linkq score``, ``linkq fetch``) on stderr.

On a terminal: tqdm's bar, with the count, the rate and the time left. Elsewhere (a log file, CI, a
pipe): one plain line every ``every`` seconds and one at the end, no carriage returns, so logs stay
readable.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """``update_to(done)`` as work completes; ``close()`` (or leave the ``with`` block) at the end.

    ``total`` may be an estimate (shown with ``~``) or None (no bar length, no time left)."""

    def __init__(self, total: int | None, unit: str, stream: TextIO | None = None, every: float = 10.0,
                 tty: bool | None = None, estimate: bool = False) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.total = total
        self.unit = unit
        self.every = every
        self.estimate = estimate
        self.done = 0
        self._t0 = time.monotonic()
        self._last = self._t0
        is_tty = tty if tty is not None else bool(getattr(self.stream, "isatty", lambda: False)())
        self._bar = None
        if is_tty:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit=f" {unit}", unit_scale=True, file=self.stream, dynamic_ncols=True,
                             leave=True, smoothing=0.1)

    def update_to(self, done: int) -> None:
        if self._bar is not None:
            if self.total is not None and done > self.total:  # the estimate was short: grow the bar
                self._bar.total = self.total = done
            self._bar.update(done - self.done)
            self.done = done
            return
        self.done = done
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._line()

    def update_with_total(self, done: int, total: int) -> None:
        """``update_to`` for work whose size grows as it goes (``linkq fetch``: the pages known so far)."""
        self.total = total
        self.update_to(done)

    def _line(self) -> None:
        secs = max(time.monotonic() - self._t0, 1e-9)
        of = f"/{'~' if self.estimate else ''}{self.total:,}" if self.total else ""
        print(f"{self.done:,}{of} {self.unit}, {self.done / secs:,.0f} {self.unit}/s, {secs:,.0f} s",
              file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.done:
            self._line()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
