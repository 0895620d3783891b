"""Sample one policy on a prompt set: results/construct/{prompts}/responses/{policy}.parquet (resumable).

With ``io.shards=K io.shard=i`` (the policy's ``sample.shards``), only shard i of K of the prompts is sampled, into
results/construct/{prompts}/responses/{policy}/shard-{i}-of-{K}.parquet; rmeval.stages.merge_responses joins them.
"""

from pathlib import Path

import pandas as pd

from rmeval.config import ConfigError, to_plain
from rmeval.construct.sampling import sample_policy
from rmeval.ids import stable_hash
from rmeval.instantiate import build
from rmeval.io import write_parquet
from rmeval.llm.cache import GenerationCache
from rmeval.rms.judge import require_some_valid
from rmeval.stages._entry import entry, io_path


@entry
def main(cfg):
    pol = cfg.policy
    if pol is None:
        raise ConfigError("policy=<name> not given (conf/policy/)")
    backend = build(to_plain(pol.backend), f"policy {pol.name}: backend")
    prompts = pd.read_parquet(io_path(cfg, "prompts"))
    count, index = int(cfg.io.get("shards") or 1), int(cfg.io.get("shard") or 0)
    if count > 1:
        from rmeval.sharding import shard_prompts

        n_all = len(prompts)
        prompts = shard_prompts(prompts, index, count)
        print(f"{pol.name}: shard {index} of {count}: {len(prompts)} of {n_all} prompts")
    cache = GenerationCache(Path(io_path(cfg, "cache_dir")) / f"{stable_hash(backend.fingerprint())}.jsonl")
    responses = sample_policy(prompts, backend, pol.name, pol.n_samples, pol.temperature, pol.top_p, pol.max_new_tokens,
                              pol.seed, pol.system_prompt, cache, progress=cfg.scoring.progress)
    require_some_valid(responses["response"].notna(), responses["error"], f"policy {pol.name}")
    failed = int(responses["response"].isna().sum())
    print(f"{pol.name}: {len(responses)} samples ({failed} failed after retries, kept with their error); "
          f"{int(responses['completion_tokens'].sum())} completion tokens")
    write_parquet(responses, io_path(cfg, "out"))


if __name__ == "__main__":
    main()
