"""Normalise a benchmark into results/data/{benchmark}/items.parquet, texts.parquet and report.json."""

from rmeval.config import to_plain
from rmeval.io import write_json, write_parquet
from rmeval.provenance import provenance
from rmeval.stages._entry import entry, io_path


@entry
def main(cfg):
    from rmeval.benchmarks import build_benchmark

    bench = build_benchmark(cfg.benchmark)
    root = cfg.io.get("root") or None  # unset: the benchmark's own source (e.g. the hub through `datasets`)
    items, texts, report = bench.load(root)
    report["provenance"] = provenance(to_plain(cfg.benchmark))
    write_parquet(items, io_path(cfg, "items"))
    write_parquet(texts, io_path(cfg, "texts"))
    write_json(report, io_path(cfg, "report"))


if __name__ == "__main__":
    main()
