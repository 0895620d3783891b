# Construction stage: prompts -> policy samples -> point-wise judgments -> pairwise + BoN sets in the RMB layout
# (rmeval.construct; entry points construct_prompts, sample, judge, build). The data stage then loads the built
# sets exactly like the RMB release.


rule construct_prompts:
    output:
        "results/construct/{prompts}/prompts.parquet",
    params:
        fp=prompts_fp,
    conda:
        CONDA_ENV
    log:
        "logs/construct/{prompts}/prompts.log",
    message:
        "Collecting the {wildcards.prompts} prompt set"
    shell:
        "{PY} -m rmeval.stages.construct_prompts {OVERRIDE_ARGS} prompts={wildcards.prompts} ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule sample:
    wildcard_constraints:
        policy=UNSHARDED_POLICY_RE,
    input:
        unpack(sample_inputs),
    output:
        "results/construct/{prompts}/responses/{policy}.parquet",
    params:
        fp=policy_fp,
        cache="results/cache/generations/policy-{policy}",
    threads: POLICY_THREADS
    resources:
        **POLICY_RESOURCES,
    conda:
        CONDA_ENV
    log:
        "logs/construct/{prompts}/responses/{policy}.log",
    message:
        "Sampling {wildcards.policy} on the {wildcards.prompts} prompts"
    shell:
        "{PY} -m rmeval.stages.sample {OVERRIDE_ARGS} policy={wildcards.policy} ++io.prompts={input.prompts_file}"
        " ++io.cache_dir={params.cache} ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule sample_shard:
    wildcard_constraints:
        policy=SHARDED_POLICY_RE,
        shard=r"\d+",
        shards=r"\d+",
    input:
        unpack(sample_inputs),
    output:
        "results/construct/{prompts}/responses/{policy}/shard-{shard}-of-{shards}.parquet",
    params:
        fp=policy_fp,
        cache="results/cache/generations/policy-{policy}",
    threads: POLICY_THREADS
    resources:
        **POLICY_RESOURCES,
    conda:
        CONDA_ENV
    log:
        "logs/construct/{prompts}/responses/{policy}/shard-{shard}-of-{shards}.log",
    message:
        "Sampling {wildcards.policy} on shard {wildcards.shard} of {wildcards.shards} of the {wildcards.prompts} prompts"
    shell:
        "{PY} -m rmeval.stages.sample {OVERRIDE_ARGS} policy={wildcards.policy} ++io.prompts={input.prompts_file}"
        " ++io.shard={wildcards.shard} ++io.shards={wildcards.shards} ++io.cache_dir={params.cache} ++io.out={output}"
        " > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule sample_merge:
    wildcard_constraints:
        policy=SHARDED_POLICY_RE,
    input:
        unpack(sample_merge_inputs),
    output:
        "results/construct/{prompts}/responses/{policy}.parquet",
    params:
        shards=shards_override,
    conda:
        CONDA_ENV
    log:
        "logs/construct/{prompts}/responses/{policy}.merge.log",
    message:
        "Merging the sample shards of {wildcards.policy} on the {wildcards.prompts} prompts"
    shell:
        "{PY} -m rmeval.stages.merge_responses {OVERRIDE_ARGS} ++io.prompts={input.prompts_file} '++io.shards={params.shards}'"
        " ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule judge:
    input:
        unpack(judge_inputs),
    output:
        judgments="results/construct/{prompts}/judgments/{judge}.parquet",
        report="results/construct/{prompts}/judgments/{judge}.report.json",
    params:
        fp=judge_fp,
        responses=responses_override,
        cache="results/cache/generations/judge-{judge}",
    threads: JUDGE_THREADS
    resources:
        **JUDGE_RESOURCES,
    conda:
        CONDA_ENV
    log:
        "logs/construct/{prompts}/judgments/{judge}.log",
    message:
        "Judging the sampled responses to {wildcards.prompts} with {wildcards.judge}"
    shell:
        "{PY} -m rmeval.stages.judge {OVERRIDE_ARGS} judge={wildcards.judge} ++io.prompts={input.prompts_file}"
        " '++io.responses={params.responses}' ++io.cache_dir={params.cache} ++io.out={output.judgments}"
        " ++io.report={output.report} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule build_sets:
    input:
        unpack(build_inputs),
    output:
        sets=directory("results/construct/{prompts}/sets/{benchmark}"),
        report="results/construct/{prompts}/sets/{benchmark}.report.json",
    params:
        fp=build_fp,
        responses=responses_override,
    conda:
        CONDA_ENV
    log:
        "logs/construct/{prompts}/sets/{benchmark}.log",
    message:
        "Building pairwise and best-of-N sets for {wildcards.benchmark} by RMB's rules"
    shell:
        "{PY} -m rmeval.stages.build {OVERRIDE_ARGS} benchmark={wildcards.benchmark} ++io.prompts={input.prompts_file} '++io.responses={params.responses}'"
        " ++io.judgments={input.judgments} ++io.out={output.sets} ++io.report={output.report} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"
