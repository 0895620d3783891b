"""A virtual RM from other RMs' score files (no model call): results/scores/{benchmark}/{rm}.parquet.

The job selects the ensemble's YAML (rm=<name>, like the score stage). io.members: the members' score parquet
files; io.texts: the benchmark's texts (prompt_id, for the borda vote); io.out: the ensemble's score parquet.
"""

from pathlib import Path

import pandas as pd

from rmeval.config import to_plain
from rmeval.provenance import provenance
from rmeval.rms.ensemble import EnsembleRM
from rmeval.scoring import read_scores, write_scores
from rmeval.stages._entry import entry, io_path


@entry
def main(cfg):
    io_path(cfg, "members")
    paths = [str(cfg.io.members)] if isinstance(cfg.io.members, str) else [str(p) for p in cfg.io.members]
    rm = EnsembleRM(name=cfg.rm.name, members=list(cfg.rm.members), method=str(cfg.rm.method))
    member_scores, member_meta = {}, {}
    for path in paths:
        frame, meta = read_scores(path)
        name = meta.get("rm") or Path(path).name.split(".")[0]
        member_scores[name], member_meta[name] = frame, {
            "path": path, "config_sha256": meta.get("config_sha256"), "cache_key": meta.get("cache_key"), "fingerprint": meta.get("fingerprint"),
        }
    texts = pd.read_parquet(io_path(cfg, "texts")) if cfg.io.get("texts") else None
    scores = rm.combine(member_scores, texts)
    meta = provenance(to_plain(cfg.rm), rm=rm.name, benchmark=cfg.benchmark.name, fingerprint={"rm": rm.name, **rm.fingerprint()},
                      device="none", members={m: member_meta[m] for m in rm.members},
                      stats={"n_texts": int(len(scores)), "n_scored": 0, "n_cached": 0})
    write_scores(scores, meta, io_path(cfg, "out"))
    print(f"{rm.name}: {rm.method} of {', '.join(rm.members)} over {len(scores)} texts "
          f"({int(scores['score'].isna().sum())} NaN)")


if __name__ == "__main__":
    main()
