"""Leaderboards: results/leaderboard/{benchmark}.csv|.md (the benchmark's own columns), and across benchmarks
results/leaderboard/all.csv|.md (one row per RM, each benchmark's primary headline with its CI)."""

from rmeval.io import read_json, write_text
from rmeval.stages._entry import entry, io_path


@entry
def main(cfg):
    from rmeval.benchmarks import build_benchmark
    from rmeval.leaderboards import cross_benchmark_frame, cross_benchmark_markdown

    io_path(cfg, "metrics")
    metrics = [read_json(str(p)) for p in cfg.io.metrics]
    if cfg.io.get("all"):  # the cross-benchmark table
        frame = cross_benchmark_frame(metrics)
        write_text(frame.to_csv(index=False, float_format="%.4f"), io_path(cfg, "csv"))
        write_text(cross_benchmark_markdown(frame, metrics), io_path(cfg, "md"))
        return
    bench = build_benchmark(cfg.benchmark)
    groups = None
    if cfg.io.get("significance"):  # rank groups on the ranking column: RMs not significantly below the one above
        from rmeval.metrics.paired import read_rank_groups

        groups = read_rank_groups(io_path(cfg, "significance"), column=bench.primary, alpha=cfg.metrics.significance_level)
        groups.attrs["column"] = bench.primary
    frame, markdown = bench.leaderboard(metrics, groups)
    write_text(frame.to_csv(index=False, float_format="%.4f"), io_path(cfg, "csv"))
    write_text(markdown, io_path(cfg, "md"))


if __name__ == "__main__":
    main()
