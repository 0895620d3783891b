"""A prompt set for construction: results/construct/{prompts}/prompts.parquet (``rmeval.construct.prompts``)."""

from rmeval.config import ConfigError
from rmeval.construct.prompts import prompt_set
from rmeval.io import write_parquet
from rmeval.stages._entry import entry, io_path


@entry
def main(cfg):
    if cfg.prompts is None:
        raise ConfigError("prompts=<name> not given (conf/prompts/)")
    prompts = prompt_set(cfg.prompts)
    print(f"{len(prompts)} prompts ({prompts['goal'].value_counts().to_dict()})")
    write_parquet(prompts, io_path(cfg, "out"))


if __name__ == "__main__":
    main()
