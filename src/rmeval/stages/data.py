"""Normalise a benchmark into results/data/{benchmark}/items.parquet, texts.parquet and report.json."""

from rmeval.config import to_plain
from rmeval.data.load import load_benchmark
from rmeval.io import write_json, write_parquet
from rmeval.provenance import provenance
from rmeval.stages._entry import entry, io_path


@entry
def main(cfg):
    bench = to_plain(cfg.benchmark)
    items, texts, report = load_benchmark(bench, io_path(cfg, "root"))
    report["provenance"] = provenance(bench)
    write_parquet(items, io_path(cfg, "items"))
    write_parquet(texts, io_path(cfg, "texts"))
    write_json(report, io_path(cfg, "report"))


if __name__ == "__main__":
    main()
