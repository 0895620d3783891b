"""Pairwise generative judge on a benchmark's items: results/scores/{benchmark}/{rm}.comparisons.parquet, with the
token usage the provider returned and its cost (``rmeval.cost.usage_report``) in the parquet metadata.

With ``io.shards=K io.shard=i`` (the judge's ``score.shards``), only shard i of K of the items (rmeval.sharding.shard_items)
is judged, into results/scores/{benchmark}/{rm}/shard-{i}-of-{K}.comparisons.parquet; rmeval.stages.merge_comparisons
joins the shards into the usual comparisons file.
"""

import logging
from pathlib import Path

import pandas as pd

from rmeval.llm.cache import GenerationCache
from rmeval.llm.server import managed_server
from rmeval.rms import build_rm
from rmeval.rms.judge import require_some_valid
from rmeval.stages._entry import entry, io_path

log = logging.getLogger("rmeval.compare")


@entry
def main(cfg):
    from rmeval.benchmarks import build_benchmark

    judge = build_rm(cfg.rm)
    items = build_benchmark(cfg.benchmark).judged_items(pd.read_parquet(io_path(cfg, "items"))).reset_index(drop=True)
    texts = pd.read_parquet(io_path(cfg, "texts"))
    count, index = int(cfg.io.get("shards") or 1), int(cfg.io.get("shard") or 0)
    if count > 1:
        from rmeval.sharding import shard_items

        n_all = len(items)
        items = shard_items(items, index, count)
        log.info("%s: shard %d of %d: %d of %d items", cfg.rm.name, index, count, len(items), n_all)
    from rmeval.ids import stable_hash

    cache = GenerationCache(Path(io_path(cfg, "cache_dir")) / f"{stable_hash(judge.fingerprint())}.jsonl")
    with managed_server(cfg.rm.get("server"), cfg.rm.name):
        comparisons = judge.compare(items, texts, cache=cache, progress=cfg.scoring.progress)
    require_some_valid(comparisons["verdict"] != "invalid", comparisons["error"], f"pairwise judge {judge.name}",
                       f"no [[A]]/[[B]]/[[C]] verdict in any output (template {judge.template_name})",
                       allow_all_invalid=bool(cfg.rm.get("allow_all_invalid", False)))
    from rmeval.cost import judge_requests, usage_report

    usage = usage_report(judge, judge_requests(judge, items, texts), cache, (cfg.rm.get("backend") or {}).get("price"))
    cost = "no price in the YAML" if usage["cost_usd"] is None else f"${usage['cost_usd']:,.2f} at the YAML's price (read on {usage['price_read_on']})"
    log.info("%s: provider usage of its %d distinct requests (answered online %d, in batches %d): %d input + %d output tokens, "
             "%s; the plan estimated %d input tokens", judge.name, usage["requests"], usage["answered"]["online"],
             usage["answered"]["batch"], usage["input_tokens"], usage["output_tokens"], cost, usage["estimated_input_tokens"])
    counts = comparisons["verdict"].value_counts().to_dict()
    log.info("%s: %d comparisons for %d items; verdicts %s", judge.name, len(comparisons), len(items), counts)
    from rmeval.scoring import write_scores

    write_scores(comparisons, {"usage": usage}, io_path(cfg, "out"))  # the usage rides in the parquet metadata


if __name__ == "__main__":
    main()
