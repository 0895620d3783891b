"""Write a benchmark fixture the project generates itself (the smoke benchmark) in the RMB layout."""

import shutil
import tempfile
from pathlib import Path

from rmeval.data.fixture import write_smoke_fixture
from rmeval.stages._entry import entry, io_path


@entry
def main(cfg):
    out = Path(io_path(cfg, "out"))
    fixture = cfg.benchmark.fixture
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as tmp:
        counts = write_smoke_fixture(Path(tmp) / "data", seed=fixture.seed, items_per_scenario=fixture.items_per_scenario)
        if out.exists():
            shutil.rmtree(out)
        (Path(tmp) / "data").rename(out)
    print(f"wrote {len(counts)} files, {sum(counts.values())} records to {out}")


if __name__ == "__main__":
    main()
