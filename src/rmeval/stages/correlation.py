"""Correlation across RMs of benchmark metrics with downstream best-of-N measures.

Per benchmark (``io.downstream`` only): results/correlation/{benchmark}.csv (+ .points.csv) — the benchmark's
metrics on its benchmark half against best-of-N on its held-out half.
Across benchmarks (``io.all`` with ``io.metrics`` too): results/correlation/all.csv (+ .points.csv) — rows
(benchmark, metric), columns every downstream pool's measures (``rmeval.correlation.cross_benchmark_correlation``).
Both: ``io.summary`` (results/correlation/{benchmark}.summary.md, all.summary.md), the relations ranked by
|Spearman ρ| with the data each side comes from (``rmeval.correlation.correlation_summary``). The tables'
``metric_data`` column names that data per row.
"""

from pathlib import Path

from rmeval.io import read_json, write_text
from rmeval.stages._entry import entry, io_path


@entry
def main(cfg):
    from rmeval.correlation import (benchmark_correlation, correlation_summary, cross_benchmark_correlation,
                                    split_lines)

    io_path(cfg, "downstream")
    summaries = [read_json(str(p)) for p in cfg.io.downstream]
    c = cfg.correlation
    settings = {"n_boot": c.n_boot, "level": c.ci_level, "seed": c.seed, "min_rms_for_ci": c.min_rms_for_ci}
    if cfg.io.get("all"):
        metrics = [read_json(str(p)) for p in cfg.io.metrics]
        table, points, n_rms = cross_benchmark_correlation(summaries, metrics, **settings)
        pools = {s["benchmark"] for s in summaries}
        title = "every benchmark's headline metrics vs every best-of-N pool"
        data = split_lines(summaries, sorted({m["benchmark"] for m in metrics} - pools))
    else:
        from rmeval.benchmarks import build_benchmark

        bench = build_benchmark(cfg.benchmark)
        table, points, n_rms = benchmark_correlation(summaries, bench.metric_values, list(c.quantiles), **settings)
        title = f"{bench.name} metrics vs best-of-N on its held-out prompts"
        data = split_lines(summaries)
    out = io_path(cfg, "out")
    write_text(table.to_csv(index=False, float_format="%.4f"), out)
    write_text(points.to_csv(index=False, float_format="%.6f"), io_path(cfg, "points"))
    write_text(correlation_summary(table, title, data, level=c.ci_level, n_boot=c.n_boot,
                                   min_rms_for_ci=c.min_rms_for_ci, source=Path(out).name), io_path(cfg, "summary"))
    print(f"{len(table)} correlations over {n_rms} RMs (fewer than 3 RMs: NaN coefficients; fewer than "
          f"{c.min_rms_for_ci}: NaN confidence intervals)")


if __name__ == "__main__":
    main()
