"""Correlation across RMs of benchmark metrics (benchmark half) with downstream measures (held-out half):
results/correlation/{benchmark}.csv (+ .points.csv, the values behind each coefficient)."""

import pandas as pd

from rmeval.correlation import correlation_table, scatter_points
from rmeval.downstream import downstream_values, metric_values
from rmeval.io import read_json, write_text
from rmeval.stages._entry import entry, io_path


@entry
def main(cfg):
    io_path(cfg, "downstream")
    summaries = [read_json(str(p)) for p in cfg.io.downstream]
    rows = [{"rm": s["rm"], **metric_values(s), **downstream_values(s)} for s in summaries]
    values = pd.DataFrame(rows)
    metrics = list(metric_values(summaries[0])) if summaries else []
    measures = sorted({k for s in summaries for k in downstream_values(s)})
    for m in measures:
        if m not in values:
            values[m] = float("nan")
    c = cfg.correlation
    table = correlation_table(values, metrics, measures, n_boot=c.n_boot, level=c.ci_level, seed=c.seed, min_rms_for_ci=c.min_rms_for_ci)
    write_text(table.to_csv(index=False, float_format="%.4f"), io_path(cfg, "out"))
    write_text(scatter_points(values, metrics, measures).to_csv(index=False, float_format="%.6f"), io_path(cfg, "points"))
    print(f"{len(table)} correlations over {len(values)} RMs (fewer than 3 RMs: NaN coefficients; fewer than "
          f"{c.min_rms_for_ci}: NaN confidence intervals)")


if __name__ == "__main__":
    main()
