"""Progress reporting for long loops: a tqdm bar on a terminal, a few plain log lines otherwise.

Logs of Snakemake jobs are files: tqdm's carriage-return updates would fill them with thousands of partial lines.
When stderr is not a terminal, ``progress_bar`` logs one line per ``steps``-th of the work (and one at the end).
"""

from __future__ import annotations

import logging
import sys
import time

from collections.abc import Iterator, Sequence
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")

log = logging.getLogger("rmeval.progress")


class PlainProgress:
    """The part of tqdm's interface the project uses (``update``, ``close``, context manager), as log lines."""

    def __init__(self, total: int | None, desc: str, unit: str = "it", steps: int = 10):
        self.total, self.desc, self.unit = total, desc, unit
        self.n, self.steps, self._next_step = 0, max(1, int(steps)), 1
        self._start = time.perf_counter()
        self._closed = False

    def _line(self) -> None:
        elapsed = time.perf_counter() - self._start
        rate = self.n / elapsed if elapsed > 0 else 0.0
        of = f"/{self.total}" if self.total else ""
        pct = f" ({self.n / self.total:.0%})" if self.total else ""
        log.info("%s: %d%s %s%s, %.1f s, %.1f %s/s", self.desc, self.n, of, self.unit, pct, elapsed, rate, self.unit)

    def update(self, n: int = 1) -> None:
        self.n += n
        if not self.total:
            return
        reached = self.n * self.steps // self.total
        if reached >= self._next_step and self.n < self.total:
            self._next_step = reached + 1
            self._line()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self.n:
                self._line()

    def __enter__(self) -> "PlainProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress_bar(total: int | None, desc: str, unit: str = "it", enabled: bool = True, **tqdm_kwargs):
    """A tqdm bar when stderr is a terminal, else a ``PlainProgress``; a disabled tqdm when not ``enabled``."""
    if not enabled:
        return tqdm(total=total, disable=True)
    stream = sys.stderr
    if getattr(stream, "isatty", lambda: False)():
        return tqdm(total=total, desc=desc, unit=unit, **tqdm_kwargs)
    return PlainProgress(total, desc, unit)


def progress_iter(items: Sequence[T], desc: str, unit: str = "it", enabled: bool = True, **tqdm_kwargs) -> Iterator[T]:
    """``items`` one by one under a ``progress_bar``, closed as soon as the loop ends or an exception leaves it (a
    bar left open would put its last carriage-return fragment before the error line)."""
    with progress_bar(len(items), desc, unit, enabled, **tqdm_kwargs) as bar:
        for item in items:
            yield item
            bar.update(1)
