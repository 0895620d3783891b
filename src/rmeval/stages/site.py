"""The run's static results site (rmeval.site): results/runs/<run>/site/.

- One benchmark (the ``site_benchmark`` rule): ``benchmark=<name>``, ``io.items``, ``io.texts``, ``io.scores`` /
  ``io.comparisons`` (the listed RMs' result files), ``io.leaderboard`` (CSV), ``io.leaderboard_md``,
  ``io.significance`` (optional), ``io.figures`` (PNGs), ``io.captions`` (their caption files); ``io.out``: the
  benchmark's folder of the site.
- The top page (the ``site`` rule): ``io.all=true``, ``io.leaderboard`` / ``io.leaderboard_md`` (the cross-benchmark
  leaderboard), ``io.benchmark_dirs`` (the folders above), ``io.figures`` / ``io.captions`` (cross-benchmark figures);
  ``io.out``: the site's index.html, ``io.assets``: its assets folder.
"""

from pathlib import Path

from rmeval.io import atomic_dir, atomic_path
from rmeval.stages._entry import entry, io_path, io_paths


def _optional(cfg, key: str) -> list[str]:
    return io_paths(cfg, key) if cfg.io.get(key) else []


def _captions(cfg) -> dict[str, str]:
    """Caption file name -> its text."""
    return {Path(p).name: Path(p).read_text(encoding="utf-8") for p in _optional(cfg, "captions")}


@entry
def main(cfg):
    from rmeval import site

    if cfg.io.get("all"):
        with atomic_path(io_path(cfg, "out")) as html, atomic_dir(io_path(cfg, "assets")) as assets:
            site.build_index(html, assets, run=str(cfg.run), leaderboard_csv=io_path(cfg, "leaderboard"),
                             leaderboard_md=io_path(cfg, "leaderboard_md"), benchmark_dirs=io_paths(cfg, "benchmark_dirs"),
                             figures=_optional(cfg, "figures"), captions=_captions(cfg))
        print(f"wrote {io_path(cfg, 'out')} and {io_path(cfg, 'assets')}")
        return

    import pandas as pd

    from rmeval.benchmarks import build_benchmark
    from rmeval.config import rm_target
    from rmeval.scoring import read_scores
    from rmeval.stages.significance import rm_name

    scores, comparisons, sources = {}, {}, {}
    for path in _optional(cfg, "scores"):
        frame, meta = read_scores(path)
        scores[rm_name(path, meta)] = frame
        sources[rm_name(path, meta)] = path
    for path in _optional(cfg, "comparisons"):
        comparisons[rm_name(path)] = pd.read_parquet(path)
        sources[rm_name(path)] = path
    rms = [str(n) for n in cfg.rms.names]
    with atomic_dir(io_path(cfg, "out")) as out:
        manifest = site.build_benchmark(
            out, bench=build_benchmark(cfg.benchmark), items=pd.read_parquet(io_path(cfg, "items")),
            texts=pd.read_parquet(io_path(cfg, "texts")), scores=scores, comparisons=comparisons, sources=sources,
            rms=rms, baselines=site.baseline_rms({rm: rm_target(rm) for rm in rms}),
            leaderboard_csv=io_path(cfg, "leaderboard"), leaderboard_md=io_path(cfg, "leaderboard_md"),
            significance_csv=cfg.io.get("significance") or None, figures=_optional(cfg, "figures"),
            captions=_captions(cfg), alpha=cfg.metrics.significance_level, items_file=io_path(cfg, "items"))
    s = manifest["suspect"]
    print(f"{manifest['benchmark']}: {manifest['n_items']} items, {manifest['data']['chunks']} chunks; suspect: "
          f"{s['all_wrong']} no non-baseline RM right, {s['identical']} identical texts, {s['judge_conflict']} label vs judge")


if __name__ == "__main__":
    main()
