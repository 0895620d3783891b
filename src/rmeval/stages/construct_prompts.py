"""A prompt set for construction: results/construct/{prompts}/prompts.parquet."""

from rmeval.config import ConfigError
from rmeval.construct.prompts import demo_prompts, jsonl_prompts, limit_per_scenario, release_prompts
from rmeval.io import write_parquet
from rmeval.stages._entry import entry, io_path


@entry
def main(cfg):
    p = cfg.prompts
    if p is None:
        raise ConfigError("prompts=<name> not given (conf/prompts/)")
    if p.source == "demo":
        prompts = demo_prompts()
    elif p.source == "jsonl":
        prompts = jsonl_prompts(p.path)
    elif p.source == "release":
        from rmeval.data.rmb import load_rmb

        items, texts, _ = load_rmb(p.path, benchmark=p.name, check_manifest=False)
        prompts = release_prompts(items, texts)
    else:
        raise ConfigError(f"conf/prompts/{p.name}.yaml: field 'source': expected demo, jsonl or release, got {p.source!r}")
    prompts = limit_per_scenario(prompts, p.per_scenario, p.seed)
    print(f"{len(prompts)} prompts ({prompts['goal'].value_counts().to_dict()})")
    write_parquet(prompts, io_path(cfg, "out"))


if __name__ == "__main__":
    main()
