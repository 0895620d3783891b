# rmeval: reward-model benchmarks as one DAG.
#
#   snakemake --cores 8                                        # default experiment (RMB + example, CPU RMs)
#   snakemake --cores 8 --config experiment=smoke              # whole DAG on generated data and models
#   snakemake --cores 8 --config 'rms=[random,length]' 'benchmarks=[rmb,rewardbench]'
#   snakemake --cores 2 results/metrics/rmb/length.json         # build only what one file needs
#   snakemake --workflow-profile profiles/slurm --config 'rms=[...]'   # a SLURM cluster (profiles/default applies by itself)
#
# Snakemake owns paths, Hydra owns knobs: this file composes conf/ with the user's overrides (every --config
# pair is one; they tell it the benchmarks and the RM list) and every rule calls `python -m rmeval.stages.<stage>` with the same overrides plus
# its input/output paths as `++io.*` overrides. Each rule's params hold a hash of the resolved config it depends
# on, so changing an override reruns exactly the jobs it affects.
#
# Output scheme (every wildcard in the path; logs mirror outputs under logs/):
#   results/construct/{prompts}/prompts.parquet, responses/{policy}.parquet, judgments/{judge}.parquet
#   results/construct/{prompts}/sets/{benchmark}/   a constructed benchmark in the RMB layout
#   resources/fixtures/{benchmark}/            generated benchmark fixture (smoke)
#   resources/downloads/{benchmark}/            a release downloaded when no local copy is configured (RMB)
#   resources/models/{rm}/                     generated tiny models (RM YAMLs with a build: section)
#   results/data/{benchmark}/items.parquet     canonical items (pairwise + BoN)
#   results/data/{benchmark}/texts.parquet     unique (conversation, response) texts
#   results/data/{benchmark}/report.json       counts, missing files, oddities
#   results/scores/{benchmark}/{rm}.parquet    one score per unique text
#   results/scores/{benchmark}/{rm}/shard-{i}-of-{K}.parquet   one shard's scores (the RM's score.shards: K > 1)
#   results/cache/scores/{rm}/                 per-RM score cache by text_id (resume, reuse across benchmarks)
#   results/metrics/{benchmark}/{rm}.json      accuracies per goal/format/task/scenario with CIs + provenance
#   results/leaderboard/{benchmark}.csv|.md    one row per RM (the benchmark's headline columns)
#   results/leaderboard/all.csv|.md            one row per RM, each benchmark's primary headline and rank
#   results/downstream/{benchmark}/{rm}.json   best-of-N on held-out prompts + metrics on the benchmark half
#   results/correlation/{benchmark}.csv        metric x downstream measure: Pearson/Spearman/Kendall with CIs
#   results/correlation/all.csv                (benchmark, metric) x (pool, downstream measure), every benchmark
#   results/plots/{benchmark}/*.png|.pdf       figures; `snakemake --report results/report.html` collects them


include: "workflow/rules/common.smk"
include: "workflow/rules/construct.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/score.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/downstream.smk"
include: "workflow/rules/plots.smk"


report: "workflow/report/workflow.rst"


rule all:
    input:
        all_targets(),
    default_target: True
