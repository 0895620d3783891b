"""The cost plan of a run, before it runs: results/runs/<run>/plan/cost.md and cost.csv (``rmeval.cost``).

io.benchmarks, io.items, io.texts: the listed benchmarks and their data tables (in the same order); io.rms,
io.caches: the listed RMs and their generation-cache folders (in the same order); io.csv, io.md: the outputs.
No API call and no model load: API judges are planned from their YAML, their requests and their caches.
"""

import logging
from pathlib import Path

import pandas as pd

from rmeval.config import rm_node, to_plain
from rmeval.io import write_text
from rmeval.stages._entry import entry, io_path, io_paths, job_overrides

log = logging.getLogger("rmeval.plan")


@entry
def main(cfg):
    from rmeval.config import is_pairwise_target
    from rmeval.cost import plan_frame, plan_judge, plan_markdown, plan_pointwise
    from rmeval.ids import stable_hash
    from rmeval.benchmarks import build_benchmark
    from rmeval.config import compose_benchmark
    from rmeval.rms import build_rm

    overrides = job_overrides()
    benchmarks, items_files, texts_files = io_paths(cfg, "benchmarks"), io_paths(cfg, "items"), io_paths(cfg, "texts")
    rms, caches = io_paths(cfg, "rms"), io_paths(cfg, "caches")
    nodes = {name: rm_node(cfg, name, overrides) for name in rms}  # each RM's YAML with the user's overrides, once
    rows = []
    for benchmark, items_file, texts_file in zip(benchmarks, items_files, texts_files, strict=True):
        items, texts = pd.read_parquet(items_file), pd.read_parquet(texts_file)
        judged = build_benchmark(compose_benchmark(benchmark, overrides)).judged_items(items).reset_index(drop=True)
        for name, cache_dir in zip(rms, caches, strict=True):
            node = nodes[name]
            if is_pairwise_target(node.get("_target_")):
                judge = build_rm(node)  # builds the backend object only: no client call, no weights
                cache = Path(cache_dir) / f"{stable_hash(judge.fingerprint())}.jsonl"
                rows.append(plan_judge(benchmark, to_plain(node), judge, judged, texts, cache))
            else:
                rows.append(plan_pointwise(benchmark, to_plain(node), texts))
            log.info("%s on %s: %s", name, benchmark, {k: v for k, v in rows[-1].items() if k in ("to_send", "input_tokens", "cost_online_usd", "cost_batch_usd")})
    frame = plan_frame(rows)
    write_text(frame.to_csv(index=False, float_format="%.4f"), io_path(cfg, "csv"))
    markdown = plan_markdown(frame)
    write_text(markdown, io_path(cfg, "md"))
    print(markdown)


if __name__ == "__main__":
    main()
