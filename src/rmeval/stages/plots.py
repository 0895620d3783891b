"""Draw the figures of a benchmark: results/plots/{benchmark}/*.png and .pdf.

- Default: every figure (the benchmark has judge scores, so downstream and correlation exist).
- ``io.only=[...]``: only the figures that need metrics alone (benchmarks without a downstream stage).
- ``io.all=true``: the cross-benchmark correlation heatmap from results/correlation/all.csv (rows: benchmark and
  metric; columns: each pool's downstream measures).
"""

from pathlib import Path

import pandas as pd

from rmeval.io import read_json
from rmeval.stages._entry import entry, io_path

METRICS_ONLY = ("leaderboard", "scenario_heatmap", "pairwise_vs_bon", "accuracy_by_gap")


@entry
def main(cfg):
    from rmeval import plots

    out_dir = Path(io_path(cfg, "out_dir"))
    out_dir.mkdir(parents=True, exist_ok=True)
    if cfg.io.get("all"):
        table = pd.read_csv(io_path(cfg, "correlation"))
        if len(table):
            table["metric"] = table["benchmark"].astype(str) + ": " + table["metric"].astype(str)
            table["downstream"] = table["pool"].astype(str) + ": " + table["downstream"].astype(str)
        written = plots.plot_correlation_heatmap(table, out_dir / "correlation_heatmap")
        print(f"wrote {len(written)} files")
        return
    io_path(cfg, "metrics")
    metrics = [read_json(str(p)) for p in cfg.io.metrics]
    only = [str(n) for n in (cfg.io.get("only") or [])]
    if only:
        unknown = sorted(set(only) - set(METRICS_ONLY))
        if unknown:
            raise ValueError(f"io.only: unknown figure(s) {unknown}; known: {', '.join(METRICS_ONLY)}")
        written = {name: getattr(plots, f"plot_{name}")(metrics, out_dir / name) for name in only}
    else:
        io_path(cfg, "downstream")
        downstream = [read_json(str(p)) for p in cfg.io.downstream]
        correlation = pd.read_csv(io_path(cfg, "correlation"))
        points = plots.headline_pairs(pd.read_csv(io_path(cfg, "points")))
        written = plots.draw_all(metrics, downstream, correlation, points, out_dir)
        from rmeval.benchmarks import build_benchmark

        column = build_benchmark(cfg.benchmark).primary
        significance = pd.read_csv(io_path(cfg, "significance")) if cfg.io.get("significance") else pd.DataFrame()
        written["significance_matrix"] = plots.plot_significance_matrix(significance, out_dir / "significance_matrix", column=column,
                                                                        alpha=cfg.metrics.significance_level)
        written["position_bias"] = plots.plot_position_bias(metrics, out_dir / "position_bias")
    print(f"wrote {sum(len(v) for v in written.values())} files")


if __name__ == "__main__":
    main()
