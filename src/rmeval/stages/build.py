"""Build pairwise and best-of-N sets by RMB's rules from judged samples, in the RMB release layout:
results/construct/{prompts}/benchmark/ (loaded by the data stage like the release itself)."""

import pandas as pd

from rmeval.config import to_plain
from rmeval.construct.builder import BuildRules, build_sets, write_rmb_layout
from rmeval.construct.sampling import response_texts
from rmeval.data.schema import DataError
from rmeval.io import write_json
from rmeval.stages._entry import entry, io_path


@entry
def main(cfg):
    construct = cfg.benchmark.construct
    prompts = pd.read_parquet(io_path(cfg, "prompts"))
    responses = pd.concat([pd.read_parquet(str(p)) for p in cfg.io.responses], ignore_index=True)
    judgments = pd.read_parquet(io_path(cfg, "judgments"))
    texts = response_texts(prompts, responses)
    pool = texts.merge(judgments[["text_id", "score"]], on="text_id", how="left").rename(columns={"policy": "model"})
    pool = pool[["prompt_id", "goal", "task", "scenario", "conversation", "text_id", "response", "model", "score"]]
    rules = BuildRules(**to_plain(construct.rules))
    pairs, groups, report = build_sets(pool, rules)
    if not pairs:
        valid = pool["score"].dropna()
        raise DataError(
            f"{io_path(cfg, 'judgments')}: record -: field 'score': the builder kept no pairs from {len(pool)} responses "
            f"({len(valid)} validly judged, {valid.nunique()} distinct scores); a judge that cannot tell responses "
            "apart, or a single policy, yields no benchmark"
        )
    counts = write_rmb_layout(pairs, groups, io_path(cfg, "out"))
    report = {**report, "files": counts, "rules": to_plain(construct.rules), "n_samples": int(len(responses)),
              "n_unique_texts": int(len(texts))}
    write_json(report, io_path(cfg, "report"))
    print(f"{len(pairs)} pairs and {len(groups)} best-of-N groups from {len(texts)} judged responses")


if __name__ == "__main__":
    main()
