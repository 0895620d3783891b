# rmeval: reward-model benchmarks as one DAG.
#
#   snakemake --cores 8                                        # the default experiment (CPU RMs)
#   snakemake --cores 8 --config experiment=smoke              # the whole DAG on generated data and models
#   snakemake --cores 8 --config 'rms=[random,length]' 'benchmarks=[<name>,<name>]'
#   snakemake --cores 2 results/metrics/<benchmark>/length.json   # build only what one file needs
#   snakemake --workflow-profile profiles/slurm --config 'rms=[...]'   # a SLURM cluster (profiles/default applies by itself)
#
# Snakemake owns paths, Hydra owns knobs: common.smk composes conf/ with the user's overrides (every --config pair
# is one) and every rule calls `python -m rmeval.stages.<stage>` with the same overrides plus its input/output
# paths as `++io.*` overrides. Each rule's `fp` param hashes the resolved config its output depends on, upstream
# jobs' included (rmeval.dag.Plan), so changing an override reruns exactly the jobs it affects, and a result whose
# upstream job failed or was killed after a change is never up to date. One rules file per stage; each path
# pattern is typed once, in the rule that writes it, and other rules take it from `rules.<name>.output`.
# Artifacts and paths: docs/design.md.

include: "workflow/rules/common.smk"
include: "workflow/rules/run.smk"
include: "workflow/rules/construct.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/score.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/downstream.smk"
include: "workflow/rules/plots.smk"
include: "workflow/rules/site.smk"
include: "workflow/rules/plan.smk"


report: "workflow/report/workflow.rst"


# Every listed benchmark's leaderboard and figures (with judge scores: its downstream correlation too), its paired
# tests between RMs when they apply, then the cross-benchmark leaderboard and correlation; and every intermediate
# file under results/ (common.smk), so a plain run rebuilds a missing one before calling its readers up to date.
rule all:
    input:
        expand(rules.leaderboard.output, benchmark=PLAN.benchmarks),
        expand(rules.significance.output, benchmark=[b for b in PLAN.benchmarks if PLAN.has_significance(b)]),
        expand([*rules.correlation.output, *rules.plots.output], benchmark=PLAN.pool_benchmarks),
        expand(rules.plots_metrics_only.output, benchmark=[b for b in PLAN.benchmarks if b not in PLAN.pool_benchmarks]),
        expand(rules.leaderboard_all.output),
        expand([*rules.correlation_all.output, *rules.plots_all.output]) if PLAN.pool_benchmarks else [],
        rules.run_config.output,
        rules.site.output.index,
        intermediates(),
    default_target: True
