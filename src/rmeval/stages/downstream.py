"""Best-of-N on the held-out half of prompts, plus benchmark metrics on the other half:
results/downstream/{benchmark}/{rm}.json."""

import pandas as pd

from rmeval.config import to_plain
from rmeval.downstream import downstream_summary
from rmeval.io import write_json
from rmeval.provenance import provenance
from rmeval.stages._entry import entry, io_path
from rmeval.stages.score import read_scores


@entry
def main(cfg):
    items = pd.read_parquet(io_path(cfg, "items"))
    scores, score_meta = read_scores(io_path(cfg, "scores"))
    summary = downstream_summary(items, scores, to_plain(cfg.downstream), to_plain(cfg.metrics))
    result = {"benchmark": cfg.benchmark.name, "rm": io_path(cfg, "rm"), **summary}
    result["provenance"] = provenance(
        [to_plain(cfg.downstream), to_plain(cfg.metrics)], scoring_fingerprint=score_meta.get("fingerprint"),
        pick_rule="argmax of the RM's score; ties: mean oracle score of the tied candidates",
    )
    write_json(result, io_path(cfg, "out"))


if __name__ == "__main__":
    main()
