"""Write a benchmark fixture the project generates itself (the smoke benchmark) in the RMB layout."""

from pathlib import Path

from rmeval.data.fixture import write_smoke_fixture
from rmeval.io import atomic_dir
from rmeval.stages._entry import entry, io_path


@entry
def main(cfg):
    out = Path(io_path(cfg, "out"))
    fixture = cfg.benchmark.fixture
    with atomic_dir(out) as tmp:
        counts = write_smoke_fixture(tmp, seed=fixture.seed, items_per_scenario=fixture.items_per_scenario)
    print(f"wrote {len(counts)} files, {sum(counts.values())} records to {out}")


if __name__ == "__main__":
    main()
