# Score stage: one job per (benchmark, RM), or with the RM's `score.shards: K` one job per length-balanced shard
# merged by score_merge (a pairwise judge's comparisons likewise: compare_shard, compare_merge); each unique text scored once (rmeval.scoring, rmeval.sharding, rmeval.stages.score).
# Threads and resources (GPUs, memory, runtime, partition) come from the RM YAML's `resources:` node.


rule tiny_model:
    output:
        directory("resources/models/{model}"),
    params:
        fp=model_fp,
    conda:
        CONDA_ENV
    log:
        "logs/models/{model}.log",
    message:
        "Making the model folder of RM {wildcards.model} (generated tiny model or a model shipped in a PyPI wheel)"
    shell:
        "{PY} -m rmeval.stages.tiny_model {OVERRIDE_ARGS} rm={wildcards.model} ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule score:
    wildcard_constraints:
        rm=UNSHARDED_RE,
    input:
        unpack(score_inputs),
    output:
        "results/scores/{benchmark}/{rm}.parquet",
    params:
        fp=score_fp,
        cache="results/cache/scores/{rm}",
    threads: RM_THREADS
    resources:
        **RM_RESOURCES,
    conda:
        CONDA_ENV
    log:
        "logs/score/{benchmark}/{rm}.log",
    message:
        "Scoring the unique texts of {wildcards.benchmark} with {wildcards.rm}"
    shell:
        "{PY} -m rmeval.stages.score {OVERRIDE_ARGS} benchmark={wildcards.benchmark} rm={wildcards.rm} ++io.texts={input.texts}"
        " ++io.cache_dir={params.cache} ++io.threads={threads} ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule score_shard:
    wildcard_constraints:
        rm=SHARDED_RE,
        shard=r"\d+",
        shards=r"\d+",
    input:
        unpack(score_inputs),
    output:
        "results/scores/{benchmark}/{rm}/shard-{shard}-of-{shards}.parquet",
    params:
        fp=score_fp,
        cache="results/cache/scores/{rm}",
    threads: RM_THREADS
    resources:
        **RM_RESOURCES,
    conda:
        CONDA_ENV
    log:
        "logs/score/{benchmark}/{rm}/shard-{shard}-of-{shards}.log",
    message:
        "Scoring shard {wildcards.shard} of {wildcards.shards} of the unique texts of {wildcards.benchmark} with {wildcards.rm}"
    shell:
        "{PY} -m rmeval.stages.score {OVERRIDE_ARGS} benchmark={wildcards.benchmark} rm={wildcards.rm} ++io.texts={input.texts}"
        " ++io.shard={wildcards.shard} ++io.shards={wildcards.shards} ++io.cache_dir={params.cache} ++io.threads={threads}"
        " ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule score_merge:
    wildcard_constraints:
        rm=SHARDED_RE,
    input:
        unpack(merge_inputs),
    output:
        "results/scores/{benchmark}/{rm}.parquet",
    params:
        shards=shards_override,
    conda:
        CONDA_ENV
    log:
        "logs/score/{benchmark}/{rm}.merge.log",
    message:
        "Merging the score shards of {wildcards.rm} on {wildcards.benchmark}"
    shell:
        "{PY} -m rmeval.stages.merge_scores {OVERRIDE_ARGS} benchmark={wildcards.benchmark} ++io.texts={input.texts}"
        " '++io.shards={params.shards}' ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule compare:
    wildcard_constraints:
        rm=UNSHARDED_JUDGE_RE,
    input:
        unpack(compare_inputs),
    output:
        "results/scores/{benchmark}/{rm}.comparisons.parquet",
    params:
        fp=score_fp,
        cache="results/cache/generations/{rm}",
    threads: RM_THREADS
    resources:
        **RM_RESOURCES,
    conda:
        CONDA_ENV
    log:
        "logs/score/{benchmark}/{rm}.comparisons.log",
    message:
        "Judging the pairs and best-of-N groups of {wildcards.benchmark} with {wildcards.rm}"
    shell:
        "{PY} -m rmeval.stages.compare {OVERRIDE_ARGS} benchmark={wildcards.benchmark} rm={wildcards.rm} ++io.items={input.items_file}"
        " ++io.texts={input.texts} ++io.cache_dir={params.cache} ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule compare_shard:
    wildcard_constraints:
        rm=SHARDED_JUDGE_RE,
        shard=r"\d+",
        shards=r"\d+",
    input:
        unpack(compare_inputs),
    output:
        "results/scores/{benchmark}/{rm}/shard-{shard}-of-{shards}.comparisons.parquet",
    params:
        fp=score_fp,
        cache="results/cache/generations/{rm}",
    threads: RM_THREADS
    resources:
        **RM_RESOURCES,
    conda:
        CONDA_ENV
    log:
        "logs/score/{benchmark}/{rm}/shard-{shard}-of-{shards}.comparisons.log",
    message:
        "Judging shard {wildcards.shard} of {wildcards.shards} of the pairs and best-of-N groups of {wildcards.benchmark} with {wildcards.rm}"
    shell:
        "{PY} -m rmeval.stages.compare {OVERRIDE_ARGS} benchmark={wildcards.benchmark} rm={wildcards.rm} ++io.items={input.items_file}"
        " ++io.texts={input.texts} ++io.shard={wildcards.shard} ++io.shards={wildcards.shards} ++io.cache_dir={params.cache}"
        " ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule compare_merge:
    wildcard_constraints:
        rm=SHARDED_JUDGE_RE,
    input:
        unpack(comparison_merge_inputs),
    output:
        "results/scores/{benchmark}/{rm}.comparisons.parquet",
    params:
        shards=shards_override,
    conda:
        CONDA_ENV
    log:
        "logs/score/{benchmark}/{rm}.comparisons.merge.log",
    message:
        "Merging the comparison shards of {wildcards.rm} on {wildcards.benchmark}"
    shell:
        "{PY} -m rmeval.stages.merge_comparisons {OVERRIDE_ARGS} benchmark={wildcards.benchmark} ++io.items={input.items_file}"
        " '++io.shards={params.shards}' ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule ensemble:
    wildcard_constraints:
        rm=ENSEMBLE_RE,
    input:
        unpack(ensemble_inputs),
    output:
        "results/scores/{benchmark}/{rm}.parquet",
    params:
        fp=score_fp,
        members=members_override,
    conda:
        CONDA_ENV
    log:
        "logs/score/{benchmark}/{rm}.ensemble.log",
    message:
        "Combining the member RMs' scores of {wildcards.rm} on {wildcards.benchmark} (no model call)"
    shell:
        "{PY} -m rmeval.stages.ensemble {OVERRIDE_ARGS} benchmark={wildcards.benchmark} rm={wildcards.rm}"
        " '++io.members={params.members}' ++io.texts={input.texts} ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"
