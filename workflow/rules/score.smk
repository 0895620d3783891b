# Score stage: each unique text of a benchmark scored once per RM (rmeval.scoring, rmeval.stages.score); a pairwise
# judge's verdicts on the items instead (rmeval.stages.compare); an ensemble combines its members' scores. An RM's
# `score.shards: K` splits its job into K length-balanced shards ({shard}, see rmeval.dag and rmeval.sharding) that
# a merge rule joins into the same file. Threads and resources (GPUs, memory, runtime, partition) come from the RM
# YAML's `resources:` node.


rule tiny_model:
    output:
        directory("resources/models/{model}"),
    params:
        run=PLAN.stage("tiny_model"),
        fp=PLAN.model_fp,
    conda:
        CONDA_ENV
    log:
        "logs/models/{model}.log",
    message:
        "Making the model folder of RM {wildcards.model} (generated tiny model or a model shipped in a PyPI wheel)"
    shell:
        "{params.run} rm={wildcards.model} ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule score:
    wildcard_constraints:
        rm=PLAN.kind_re("pointwise"),
    input:
        texts=rules.data.output.texts_file,
        model=lambda w: expand(rules.tiny_model.output[0], model=PLAN.models("rm", w.rm)),
        missing=rebuilt_if_missing("score"),
    output:
        "results/scores/{benchmark}/{rm}{shard}.parquet",
    params:
        run=PLAN.stage("score"),
        asks=PLAN.asks("rm"),
        fp=PLAN.rm_fp,
        shard=shard_param,
        cache="results/cache/scores/{rm}",
    threads: PLAN.threads("rm")
    resources:
        **PLAN.resources("rm"),
    conda:
        CONDA_ENV
    log:
        "logs/score/{benchmark}/{rm}{shard}.log",
    message:
        "Scoring the unique texts of {wildcards.benchmark} with {wildcards.rm}{wildcards.shard} ({params.asks})"
    shell:
        "{params.run} benchmark={wildcards.benchmark} rm={wildcards.rm} ++io.texts={input.texts} {params.shard}"
        " ++io.cache_dir={params.cache} ++io.threads={threads} ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule score_merge:
    wildcard_constraints:
        rm=PLAN.sharded_re("pointwise"),
    input:
        texts=rules.data.output.texts_file,
        shards=lambda w: shard_files(rules.score.output[0], PLAN.rm_shards(w.rm)),
        missing=rebuilt_if_missing("score_merge"),
    output:
        unsharded(rules.score.output[0]),
    params:
        run=PLAN.stage("merge_scores"),
        fp=PLAN.rm_fp,
        shards=lambda w, input: hydra_list(input.shards),
    conda:
        CONDA_ENV
    log:
        "logs/score/{benchmark}/{rm}.merge.log",
    message:
        "Merging the score shards of {wildcards.rm} on {wildcards.benchmark}"
    shell:
        "{params.run} benchmark={wildcards.benchmark} ++io.texts={input.texts}"
        " '++io.shards={params.shards}' ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule compare:
    wildcard_constraints:
        rm=PLAN.kind_re("pairwise"),
    input:
        items_file=rules.data.output.items_file,
        texts=rules.data.output.texts_file,
        model=rules.score.input.model,
        missing=rebuilt_if_missing("compare"),
    output:
        "results/scores/{benchmark}/{rm}{shard}.comparisons.parquet",
    params:
        run=PLAN.stage("compare"),
        asks=PLAN.asks("rm"),
        fp=PLAN.rm_fp,
        shard=shard_param,
        cache="results/cache/generations/{rm}",
    threads: PLAN.threads("rm")
    resources:
        **PLAN.resources("rm"),
    conda:
        CONDA_ENV
    log:
        "logs/score/{benchmark}/{rm}{shard}.comparisons.log",
    message:
        "Judging the pairs and best-of-N groups of {wildcards.benchmark} with {wildcards.rm}{wildcards.shard} ({params.asks})"
    shell:
        "{params.run} benchmark={wildcards.benchmark} rm={wildcards.rm} ++io.items={input.items_file}"
        " ++io.texts={input.texts} {params.shard} ++io.cache_dir={params.cache} ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule compare_merge:
    wildcard_constraints:
        rm=PLAN.sharded_re("pairwise"),
    input:
        items_file=rules.data.output.items_file,
        shards=lambda w: shard_files(rules.compare.output[0], PLAN.rm_shards(w.rm)),
        missing=rebuilt_if_missing("compare_merge"),
    output:
        unsharded(rules.compare.output[0]),
    params:
        run=PLAN.stage("merge_comparisons"),
        fp=PLAN.rm_fp,
        shards=lambda w, input: hydra_list(input.shards),
    conda:
        CONDA_ENV
    log:
        "logs/score/{benchmark}/{rm}.comparisons.merge.log",
    message:
        "Merging the comparison shards of {wildcards.rm} on {wildcards.benchmark}"
    shell:
        "{params.run} benchmark={wildcards.benchmark} ++io.items={input.items_file}"
        " '++io.shards={params.shards}' ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


ruleorder: score_merge > score
ruleorder: compare_merge > compare


rule ensemble:
    wildcard_constraints:
        rm=PLAN.kind_re("ensemble"),
    input:
        texts=rules.data.output.texts_file,
        members=lambda w: expand(unsharded(rules.score.output[0]), benchmark=w.benchmark, rm=PLAN.members(w.rm)),
        missing=rebuilt_if_missing("ensemble"),
    output:
        unsharded(rules.score.output[0]),
    params:
        run=PLAN.stage("ensemble"),
        fp=PLAN.rm_fp,
        members=lambda w, input: hydra_list(input.members),
    conda:
        CONDA_ENV
    log:
        "logs/score/{benchmark}/{rm}.ensemble.log",
    message:
        "Combining the member RMs' scores of {wildcards.rm} on {wildcards.benchmark} (no model call)"
    shell:
        "{params.run} benchmark={wildcards.benchmark} rm={wildcards.rm}"
        " '++io.members={params.members}' ++io.texts={input.texts} ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


# The file an RM's evaluation reads (rmeval.dag.Plan.artifact): its scores, or a pairwise judge's comparisons
# (written by the job itself, by the merge of its shards, or for an ensemble by the ensemble rule).
RESULT_FILES = {"scores": unsharded(rules.score.output[0]), "comparisons": unsharded(rules.compare.output[0])}
