"""Leaderboards: results/runs/<run>/leaderboard/{benchmark}.csv|.md (the benchmark's own columns, ranks from the paired tests,
n items, length bias, published numbers beside ours), and across benchmarks results/runs/<run>/leaderboard/all.csv|.md (one row
per RM, each benchmark's primary headline with its CI, the mean rank)."""

from pathlib import Path

from rmeval.io import read_json, write_text
from rmeval.stages._entry import entry, io_path, job_overrides


def published_numbers(node, conf_dir):
    """The published numbers a benchmark config names (``published``), checked against its headline columns and the
    RMs of conf/rm/; None when it names none."""
    from rmeval.benchmarks import build_benchmark
    from rmeval.config import available_rms
    from rmeval.leaderboards import published_path, read_published

    found = published_path(node.get("published"), conf_dir)
    if found is None:
        return None
    bench = build_benchmark(node)
    return read_published(found[0], bench.name, bench.headline_columns, available_rms(conf_dir), shown=found[1])


@entry
def main(cfg):
    from rmeval.benchmarks import build_benchmark
    from rmeval.config import compose_benchmark, find_conf_dir, to_plain
    from rmeval.leaderboards import board_settings, cross_benchmark_frame, cross_benchmark_markdown
    from rmeval.metrics.paired import read_significance_ranks

    io_path(cfg, "metrics")
    metrics = [read_json(str(p)) for p in cfg.io.metrics]
    board = board_settings(to_plain(cfg.leaderboard))
    conf_dir = find_conf_dir()
    if cfg.io.get("all"):  # the cross-benchmark table
        names = list(dict.fromkeys(m["benchmark"] for m in metrics))
        published = {n: p for n in names if (p := published_numbers(compose_benchmark(n, job_overrides()), conf_dir))}
        primary = {m["benchmark"]: m["headline"]["primary"] for m in metrics}
        ranks = {}
        for path in cfg.io.get("significance") or []:  # results/runs/<run>/significance/<benchmark>.csv
            b = Path(str(path)).stem
            if b in primary:
                ranks[b] = read_significance_ranks(str(path), column=primary[b], alpha=cfg.metrics.significance_level)
        frame = cross_benchmark_frame(metrics, board, published, ranks)
        write_text(frame.to_csv(index=False, float_format="%.4f"), io_path(cfg, "csv"))
        write_text(cross_benchmark_markdown(frame, metrics), io_path(cfg, "md"))
        return
    bench = build_benchmark(cfg.benchmark)
    ranks = None
    if cfg.io.get("significance"):  # rank = 1 + the number of RMs significantly better on the ranking column
        ranks = read_significance_ranks(io_path(cfg, "significance"), column=bench.primary, alpha=cfg.metrics.significance_level)
    frame, markdown = bench.leaderboard(metrics, ranks, board=board, published=published_numbers(cfg.benchmark, conf_dir))
    write_text(frame.to_csv(index=False, float_format="%.4f"), io_path(cfg, "csv"))
    write_text(markdown, io_path(cfg, "md"))


if __name__ == "__main__":
    main()
