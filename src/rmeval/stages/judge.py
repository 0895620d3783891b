"""Judge every sampled response point-wise (1-5, 0.5 steps): results/construct/{prompts}/judgments/{judge}.parquet."""

from pathlib import Path

import pandas as pd

from rmeval.config import ConfigError, without_job_keys
from rmeval.construct.sampling import response_texts
from rmeval.ids import stable_hash
from rmeval.instantiate import build
from rmeval.io import write_json, write_parquet
from rmeval.llm.cache import GenerationCache
from rmeval.rms.judge import require_some_valid
from rmeval.stages._entry import entry, io_path


@entry
def main(cfg):
    j = cfg.judge
    if j is None:
        raise ConfigError("judge=<name> not given (conf/judge/)")
    node = without_job_keys(j)
    node.pop("requires_model", None)
    judge = build(node, f"judge {j.name}")
    prompts = pd.read_parquet(io_path(cfg, "prompts"))
    responses = pd.concat([pd.read_parquet(str(p)) for p in cfg.io.responses], ignore_index=True)
    rows = response_texts(prompts, responses)
    cache = GenerationCache(Path(io_path(cfg, "cache_dir")) / f"{stable_hash(judge.backend.fingerprint())}.jsonl")
    judgments = judge.judge(rows[["text_id", "conversation", "response", "goal"]], cache=cache, progress=cfg.scoring.progress)
    require_some_valid(judgments["valid"], judgments["error"], f"pointwise judge {j.name}")
    summary = judge.summary(judgments)
    print(f"{j.name}: {summary}")
    write_parquet(judgments, io_path(cfg, "out"))
    write_json({"judge": j.name, **summary}, io_path(cfg, "report"))


if __name__ == "__main__":
    main()
