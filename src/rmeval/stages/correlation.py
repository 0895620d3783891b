"""Correlation across RMs of benchmark metrics with downstream best-of-N measures.

Per benchmark (``io.downstream`` only): results/correlation/{benchmark}.csv (+ .points.csv) — the benchmark's
metrics on its benchmark half against best-of-N on its held-out half.
Across benchmarks (``io.all`` with ``io.metrics`` too): results/correlation/all.csv (+ .points.csv) — rows
(benchmark, metric), columns every downstream pool's measures. Where the benchmark is the pool's own benchmark,
its benchmark-half metrics are used (the prompt split holds); other benchmarks use their full metrics.
"""

import pandas as pd

from rmeval.correlation import correlation_table, scatter_points
from rmeval.io import read_json, write_text
from rmeval.stages._entry import entry, io_path

SEP = " | "


def headline_values(metrics: dict) -> dict[str, float | None]:
    """A metrics dict's headline columns by name (every benchmark writes them; no benchmark object needed)."""
    head = metrics.get("headline") or {}
    return {col: (head.get("values", {}).get(col) or {}).get("accuracy") for col in head.get("columns", [])}


@entry
def main(cfg):
    from rmeval.benchmarks import build_benchmark
    from rmeval.downstream import downstream_values, quantile_metric_values

    io_path(cfg, "downstream")
    summaries = [read_json(str(p)) for p in cfg.io.downstream]
    c = cfg.correlation
    if not cfg.io.get("all"):
        bench = build_benchmark(cfg.benchmark)
        quant = quantile_metric_values(summaries, list(c.quantiles))  # PPE lower-quantile aggregation
        rows = [{"rm": s["rm"], **bench.metric_values(s["benchmark_half"]), **quant.get(s["rm"], {}), **downstream_values(s)}
                for s in summaries]
        metrics = list(bench.metric_values(summaries[0]["benchmark_half"])) if summaries else []
        metrics += sorted({k for q in quant.values() for k in q})
        measures = sorted({k for s in summaries for k in downstream_values(s)})
        prefix = None
    else:
        full = [read_json(str(p)) for p in cfg.io.metrics]
        by_rm: dict[str, dict] = {}
        pools = sorted({s["benchmark"] for s in summaries})
        for s in summaries:
            row = by_rm.setdefault(s["rm"], {"rm": s["rm"]})
            row.update({f"{s['benchmark']}{SEP}{k}": v for k, v in downstream_values(s).items()})
            row.update({f"{s['benchmark']}{SEP}{k}": v for k, v in headline_values(s["benchmark_half"]).items()})
        for m in full:
            if m["benchmark"] in pools or m["rm"] not in by_rm:
                continue  # a pool's own benchmark: its benchmark-half metrics (above) keep the split
            by_rm[m["rm"]].update({f"{m['benchmark']}{SEP}{k}": v for k, v in headline_values(m).items()})
        rows = list(by_rm.values())
        measure_keys = {f"{s['benchmark']}{SEP}{k}" for s in summaries for k in downstream_values(s)}
        measures = sorted(measure_keys)
        metrics = sorted({k for r in rows for k in r if k != "rm" and k not in measure_keys})
        prefix = SEP
    values = pd.DataFrame(rows)
    for col in [*metrics, *measures]:
        if col not in values:
            values[col] = float("nan")
    table = correlation_table(values, metrics, measures, n_boot=c.n_boot, level=c.ci_level, seed=c.seed, min_rms_for_ci=c.min_rms_for_ci)
    points = scatter_points(values, metrics, measures)
    if prefix:
        for frame in (table, points):
            split = frame["metric"].str.split(prefix, n=1, expand=True, regex=False)
            frame.insert(0, "benchmark", split[0])
            frame["metric"] = split[1]
            pool = frame["downstream"].str.split(prefix, n=1, expand=True, regex=False)
            frame.insert(frame.columns.get_loc("downstream"), "pool", pool[0])
            frame["downstream"] = pool[1]
    write_text(table.to_csv(index=False, float_format="%.4f"), io_path(cfg, "out"))
    write_text(points.to_csv(index=False, float_format="%.6f"), io_path(cfg, "points"))
    print(f"{len(table)} correlations over {len(values)} RMs (fewer than 3 RMs: NaN coefficients; fewer than "
          f"{c.min_rms_for_ci}: NaN confidence intervals)")


if __name__ == "__main__":
    main()
