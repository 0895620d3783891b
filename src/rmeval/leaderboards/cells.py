"""What every leaderboard table shares: the leaderboard knobs, cell text, no interval on too few items, and column
headers that carry n items."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from rmeval.config.fields import settings
from rmeval.config.schemas import LeaderboardConfig


def board_settings(given: LeaderboardConfig | Mapping | None = None) -> LeaderboardConfig:
    """The leaderboard knobs (``config.yaml: leaderboard``) as their dataclass, enums as plain strings; None: defaults."""
    if isinstance(given, LeaderboardConfig):
        return settings(LeaderboardConfig, given, {}, "config.yaml: leaderboard")
    return settings(LeaderboardConfig, None, dict(given or {}), "config.yaml: leaderboard")


def is_missing(v) -> bool:
    """None, NaN or pandas' NA."""
    return v is None or (not isinstance(v, str) and bool(pd.isna(v)))


def cell_text(v, lo=None, hi=None, scale: float = 1.0, digits: int = 3) -> str:
    """``0.692 [0.537, 0.846]``; without an interval the value alone; no value: ``–``."""
    if is_missing(v):
        return "–"
    ci = "" if is_missing(lo) or is_missing(hi) else f" [{scale * lo:.{digits}f}, {scale * hi:.{digits}f}]"
    return f"{scale * v:.{digits}f}{ci}"


def digits_for(scale: float) -> int:
    return 1 if scale == 100 else 3


def no_small_cis(frame: pd.DataFrame, columns: Sequence[str], min_items: int) -> pd.DataFrame:
    """Blank ``lo``/``hi`` where the column has fewer than ``min_items`` items; ``attrs['no_ci']``: {column: [n]}."""
    no_ci = {}
    for col in columns:
        if f"{col} n" not in frame or f"{col} lo" not in frame:
            continue
        n = pd.to_numeric(frame[f"{col} n"], errors="coerce")
        small = ((n < min_items) & frame[col].notna()).to_numpy(dtype=bool, na_value=False)
        if small.any():
            frame.loc[small, [f"{col} lo", f"{col} hi"]] = np.nan
            no_ci[col] = sorted({int(v) for v in n[small]})
    frame.attrs["no_ci"] = no_ci
    return frame

def shared_n(frame: pd.DataFrame, col: str) -> int | None:
    """The item count every RM with a value in ``col`` has (None when they differ or there is none)."""
    if f"{col} n" not in frame:
        return None
    n = pd.to_numeric(frame.loc[frame[col].notna(), f"{col} n"], errors="coerce").dropna().unique()  # RMs with a value
    return int(n[0]) if len(n) == 1 else None


def column_header(frame: pd.DataFrame, col: str, min_ci: int | None, label: str | None = None, more: str = "") -> str:
    """``Overall (n=3,214)``; ``Accuracy (n=13, too few items for a CI)`` below ``min_ci``; without n when RMs differ
    in it (the cells say it). ``more``: a last remark inside the brackets."""
    n = shared_n(frame, col)
    said = [] if n is None else [f"n={n:,}"]
    if n is not None and min_ci is not None and n < min_ci and f"{col} lo" in frame and frame[col].notna().any():
        said.append("too few items for a CI")
    said += [more] if more else []
    return f"{label or col} ({', '.join(said)})" if said else (label or col)


def column_cell(r: pd.Series, frame: pd.DataFrame, col: str, min_ci: int | None, scale: float = 1.0) -> str:
    text = cell_text(r.get(col), r.get(f"{col} lo"), r.get(f"{col} hi"), scale, digits_for(scale))
    n = r.get(f"{col} n")
    if shared_n(frame, col) is not None or is_missing(n) or text == "–":
        return text
    small = min_ci is not None and n < min_ci and f"{col} lo" in frame
    return f"{text} (n={int(n):,}{', too few items for a CI' if small else ''})"
