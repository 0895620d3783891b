#!/usr/bin/env python
"""Fidelity of rmeval's RMB builder: rebuild RMB from the judge scores the release carries, compare side by side.

    python benchmarks/fidelity_check.py --rmb-root ../shared/rmb/RMB_dataset [--prompts N]

Steps: load the release with rmeval's loader (commit 94c5976 carries every response's judge score); recover the
annotated pool from it (one row per prompt and response, the mean score where a response is rated in several
records); run ``build_sets`` with the default ``BuildRules`` (RMB's rules); write the RMB layout and load it back
through ``load_rmb``; print release vs rebuilt per goal.

How to read it: the release kept a *subset* of the candidate pairs (and formed its BoN groups) by selection
rules that are not fully documented, and its pool is only the responses that made it into some record, so the
counts and shares differ between the columns. The rule checks (gap range, distinct models, pairs and groups per
prompt, loser counts, BoN pairs inside the pairwise set) must hold exactly for the rebuilt sets: the script exits
with status 1 otherwise. A copy of the release that lacks pairwise files (the shared one lacks three) has BoN
groups whose prompt has no pairwise item; the script names the missing files.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from rmeval.construct.builder import BuildRules, build_sets
from rmeval.construct.rmb_layout import pool_from_release, write_rmb_layout
from rmeval.construct.fidelity import compare_with_release, format_comparison
from rmeval.data.rmb import load_rmb


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rmb-root", required=True, help="local RMB_dataset folder (with judge scores)")
    ap.add_argument("--prompts", type=int, default=None, help="a seeded sample of N prompts (default: all)")
    ap.add_argument("--sample-seed", type=int, default=0, help="seed of the prompt sample")
    ap.add_argument("--seed", type=int, default=0, help="builder seed (BuildRules.seed)")
    ap.add_argument("--out", default=None, help="write the rebuilt layout here (default: a temporary folder)")
    ap.add_argument("--json", default=None, help="also write the comparison as JSON to this path")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    t0 = time.time()
    items, texts, load_report = load_rmb(args.rmb_root, benchmark="rmb", check_manifest=True)
    if not load_report.has_judge_scores:
        print("error: this release carries no judge scores (use the data of commit 94c5976)", file=sys.stderr)
        return 2
    print(f"release: {len(items)} items, {len(texts)} unique texts, {len(load_report.files)} files")
    for m in load_report.missing_files:
        print(f"  missing from this copy: {m['file']} ({m['records']} records): {m['goal']}/{m['scenario']}")
    if load_report.judge_score_conflicts:
        print(f"  {load_report.judge_score_conflicts} response occurrences carry a judge score that differs from "
              "another record's for the same text (the pool uses the mean)")

    if args.prompts:
        pids = np.array(sorted(items["prompt_id"].unique()))
        rng = np.random.default_rng(args.sample_seed)
        keep = set(rng.choice(pids, size=min(args.prompts, len(pids)), replace=False))
        items = items[items["prompt_id"].isin(keep)].reset_index(drop=True)
        texts = texts[texts["prompt_id"].isin(keep)].reset_index(drop=True)
        print(f"sample: {len(keep)} prompts (seed {args.sample_seed}), {len(items)} release items")

    rules = BuildRules(seed=args.seed)
    pool = pool_from_release(items, texts)
    pairs, groups, report = build_sets(pool, rules)
    print(f"pool: {len(pool)} judged responses of {report['n_prompts']} prompts; {report['n_candidate_pairs']} "
          f"candidate pairs (ties {report['n_ties']}, gap out of range {report['n_gap_out_of_range']}, same model "
          f"{report['n_same_model_dropped']}); kept {report['n_kept_pairs']} pairs, {report['n_groups']} BoN "
          f"groups; {report['n_prompts_capped']} prompts capped at {rules.max_pairs_per_prompt} pairs; "
          f"{report['n_prompts_without_pairs']} prompts yield nothing")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp) / "RMB_rebuilt"
        counts = write_rmb_layout(pairs, groups, out)
        built, _, _ = load_rmb(out, benchmark="rmb_rebuilt", check_manifest=False)
    print(f"rebuilt: {len(built)} items in {len(counts)} files" + (f" under {args.out}" if args.out else ""))

    result = compare_with_release(items, built, rules)
    print()
    print("release = the RMB release as loaded (its own selection); rebuilt = build_sets on the release's judge scores")
    print("NOTE: the release selected a subset of candidate pairs by rules that are not fully documented, so counts")
    print("and shares differ; the rule checks below must be 0 for the rebuilt sets.")
    print()
    print(format_comparison(result))
    print(f"\n({time.time() - t0:.1f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps({"build_report": report, "comparison": result}, indent=1, default=str))
    return 0 if result["rebuilt_rules_hold"] else 1


if __name__ == "__main__":
    sys.exit(main())
