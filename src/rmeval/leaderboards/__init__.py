"""Leaderboards: the columns every per-benchmark table shares, the cross-benchmark table, published numbers beside
ours, and the significance table in markdown.

A benchmark object builds its own frame (``Benchmark.leaderboard_frame``: one row per RM, its headline columns with
``lo``/``hi``/``n``); ``board.board_frame`` adds what every leaderboard shows: the rank from the paired tests
(``rmeval.metrics.paired.significance_ranks``), n items per column, the length-controlled accuracy and the
prefers-longer rate (every metrics JSON's ``length_bias`` block), and the published numbers of
``conf/published/<benchmark>.yaml`` (``published``); ``board.board_markdown`` writes it. ``across``: all.csv|.md.
Every metrics JSON carries a ``headline`` block (``primary``, ``columns``, ``values``), so nothing here knows any
particular benchmark.
"""

from rmeval.leaderboards.across import cross_benchmark_frame, cross_benchmark_markdown
from rmeval.leaderboards.board import LENGTH_CONTROLLED, PREFERS_LONGER, ExtraColumn, board_frame, board_markdown
from rmeval.leaderboards.cells import board_settings, cell_text, column_cell, column_header
from rmeval.leaderboards.published import Published, PublishedRow, inside_ci, published_path, read_published
from rmeval.leaderboards.significance import p_value_text, significance_markdown

__all__ = [
    "LENGTH_CONTROLLED", "PREFERS_LONGER", "ExtraColumn", "Published", "PublishedRow", "board_frame", "board_markdown",
    "board_settings", "cell_text", "column_cell", "column_header", "cross_benchmark_frame", "cross_benchmark_markdown",
    "inside_ci", "p_value_text", "published_path", "read_published", "significance_markdown",
]
