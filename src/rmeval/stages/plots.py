"""Draw a benchmark's figures (results/plots/{benchmark}/*.png and .pdf) with ``rmeval.plots.draw_all``.

- Default: every per-benchmark figure, from ``io.metrics``, ``io.downstream``, ``io.correlation``, ``io.points`` and
  (optional) ``io.significance``.
- ``io.only=[...]``: just these figures (benchmarks without judge scores: the ones that need metrics alone).
- ``io.all=true``: the cross-benchmark figures, from ``io.correlation`` = results/correlation/all.csv.
"""

import pandas as pd

from rmeval.io import read_json
from rmeval.stages._entry import entry, io_path, io_paths


@entry
def main(cfg):
    from rmeval import plots

    io = cfg.io
    data = plots.PlotData(
        metrics=[read_json(p) for p in io_paths(cfg, "metrics")] if io.get("metrics") else [],
        downstream=[read_json(p) for p in io_paths(cfg, "downstream")] if io.get("downstream") else [],
        correlation=pd.read_csv(io.correlation) if io.get("correlation") else None,
        points=pd.read_csv(io.points) if io.get("points") else None,
        significance=pd.read_csv(io.significance) if io.get("significance") else None,
        alpha=cfg.metrics.significance_level,
    )
    if io.get("all"):
        names = plots.figure_names(scope="all")
    else:
        names = [str(n) for n in io.get("only") or []] or None
    written = plots.draw_all(data, io_path(cfg, "out_dir"), names)
    print(f"wrote {sum(len(v) for v in written.values())} files")


if __name__ == "__main__":
    main()
