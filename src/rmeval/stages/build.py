"""Build pairwise and best-of-N sets by RMB's rules from judged samples, in the RMB release layout:
results/construct/{prompts}/benchmark/ (loaded by the data stage like the release itself)."""

import pandas as pd

from rmeval.config import to_plain
from rmeval.construct.rmb_layout import build_release
from rmeval.io import write_json
from rmeval.stages._entry import entry, io_path


@entry
def main(cfg):
    prompts = pd.read_parquet(io_path(cfg, "prompts"))
    responses = pd.concat([pd.read_parquet(str(p)) for p in cfg.io.responses], ignore_index=True)
    judgments = pd.read_parquet(io_path(cfg, "judgments"))
    report = build_release(prompts, responses, judgments, to_plain(cfg.benchmark.construct.rules), io_path(cfg, "out"),
                           where=io_path(cfg, "judgments"))
    write_json(report, io_path(cfg, "report"))
    print(f"{report['n_kept_pairs']} pairs and {report['n_groups']} best-of-N groups from {report['n_unique_texts']} "
          "judged responses")


if __name__ == "__main__":
    main()
