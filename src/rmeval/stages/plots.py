"""Draw every figure of a benchmark: results/plots/{benchmark}/*.png and .pdf."""

from pathlib import Path

import pandas as pd

from rmeval.io import read_json
from rmeval.stages._entry import entry, io_path


@entry
def main(cfg):
    from rmeval.plots import draw_all, headline_pairs

    io_path(cfg, "metrics")
    io_path(cfg, "downstream")
    metrics = [read_json(str(p)) for p in cfg.io.metrics]
    downstream = [read_json(str(p)) for p in cfg.io.downstream]
    correlation = pd.read_csv(io_path(cfg, "correlation"))
    points = headline_pairs(pd.read_csv(io_path(cfg, "points")))
    written = draw_all(metrics, downstream, correlation, points, Path(io_path(cfg, "out_dir")))
    print(f"wrote {sum(len(v) for v in written.values())} files")


if __name__ == "__main__":
    main()
