"""Generate a tiny random-weight model for an RM whose YAML has a `build:` section (smoke tests, CPU demos)."""

import shutil
import tempfile
from pathlib import Path

from rmeval.config import ConfigError
from rmeval.stages._entry import entry, io_path
from rmeval.tiny import build_tiny_classifier


@entry
def main(cfg):
    build = cfg.rm.get("build")
    if build is None or build.kind != "tiny_classifier":
        raise ConfigError(f"conf/rm/{cfg.rm.name}.yaml: field 'build.kind': expected tiny_classifier")
    out = Path(io_path(cfg, "out"))
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as tmp:
        build_tiny_classifier(Path(tmp) / "model", seed=build.seed, hidden_size=build.hidden_size,
                              num_layers=build.num_layers, vocab_size=build.vocab_size, pad_is_eos=build.pad_is_eos)
        if out.exists():
            shutil.rmtree(out)
        (Path(tmp) / "model").rename(out)
    print(f"built {cfg.rm.name} into {out}")


if __name__ == "__main__":
    main()
