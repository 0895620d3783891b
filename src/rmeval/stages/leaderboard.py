"""Leaderboard across RMs: results/leaderboard/{benchmark}.csv and .md."""

from rmeval.io import read_json, write_text
from rmeval.metrics import leaderboard_frame, leaderboard_markdown
from rmeval.stages._entry import entry, io_path


def notes_for(metrics: list[dict]) -> list[str]:
    """What a reader must know: missing scenario files, subsampling, chance levels."""
    if not metrics:
        return []
    first = metrics[0]
    notes = []
    if "rewardbench" in first:
        rb = first["rewardbench"]
        missing = rb.get("subsets_missing") or rb.get("domains_missing") or []
        if missing:
            notes.append(f"Absent from this run (left out of numerator and denominator): {', '.join(missing)}.")
        return notes
    missing = first["data"].get("missing_files") or []
    if missing:
        lost = sum(m["records"] for m in missing)
        names = "; ".join(f"{m['goal']} {m['format']} {m['scenario']} ({m['records']} items)" for m in missing)
        notes.append(f"Missing from this copy of the release ({len(missing)} files, {lost:,} items): {names}.")
    sample = first["data"].get("sample") or {}
    if sample.get("per_scenario"):
        notes.append(f"Seeded stratified subsample: at most {sample['per_scenario']} items per scenario (seed {sample.get('seed')}).")
    chance = []
    for goal in first["goals"]:
        for fmt, node in first["goals"][goal].items():
            if node.get("chance") is not None:
                chance.append(f"{goal} {fmt} {node['chance']:.3f}")
    if chance:
        notes.append("Chance level (random scores, no ties): " + ", ".join(chance) + " (BoN: mean of 1/(losers+1)).")
    for m in metrics:
        judge = m.get("judge")
        if judge:
            v = judge["verdicts"]
            share = judge.get("share_A_among_valid")
            cons = judge.get("consistency_rate")
            notes.append(
                f"{m['rm']} (pairwise judge): {judge['n_comparisons']:,} comparisons; verdicts A {v['A']}, B {v['B']}, "
                f"tie {v['tie']}, invalid {v['invalid']} (ties and invalid count as wrong)"
                + (f"; A chosen in {share:.1%} of valid verdicts" if share is not None else "")
                + (f"; consistent across both orders in {cons:.1%} of pairs" if cons is not None else "") + "."
            )
    if first["data"].get("identical_pairs"):
        n = first["data"]["identical_pairs"]
        notes.append(f"{n} pair{'s have' if n != 1 else ' has'} byte-identical chosen and rejected text: no RM can get {'them' if n != 1 else 'it'} right.")
    return notes


@entry
def main(cfg):
    io_path(cfg, "metrics")
    paths = [str(p) for p in cfg.io.metrics]
    metrics = [read_json(p) for p in paths]
    frame = leaderboard_frame(metrics)
    write_text(frame.to_csv(index=False, float_format="%.4f"), io_path(cfg, "csv"))
    write_text(leaderboard_markdown(frame, cfg.benchmark.name, notes_for(metrics)), io_path(cfg, "md"))


if __name__ == "__main__":
    main()
