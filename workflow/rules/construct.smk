# Construction stage: prompts -> policy samples -> point-wise judgments -> pairwise + BoN sets (rmeval.construct;
# entry points construct_prompts, sample, judge, build). The data stage then loads the built sets like a released
# benchmark (a benchmark whose source kind is `constructed`). A policy's `sample.shards: K` splits its sampling into K jobs ({shard}, see
# rmeval.dag) that sample_merge joins.


rule construct_prompts:
    input:
        missing=rebuilt_if_missing("construct_prompts"),
    output:
        "results/construct/{prompts}/prompts.parquet",
    params:
        run=PLAN.stage("construct_prompts"),
        fp=PLAN.prompts_fp,
    conda:
        CONDA_ENV
    log:
        "logs/construct/{prompts}/prompts.log",
    message:
        "Collecting the {wildcards.prompts} prompt set"
    shell:
        "{params.run} prompts={wildcards.prompts} ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule sample:
    input:
        prompts_file=rules.construct_prompts.output[0],
        model=lambda w: expand(rules.tiny_model.output[0], model=PLAN.models("policy", w.policy)),
        missing=rebuilt_if_missing("sample"),
    output:
        "results/construct/{prompts}/responses/{policy}{shard}.parquet",
    params:
        run=PLAN.stage("sample"),
        asks=PLAN.asks("policy"),
        fp=PLAN.policy_fp,
        shard=shard_param,
        cache="results/cache/generations/policy-{policy}",
    threads: PLAN.threads("policy")
    resources:
        **PLAN.resources("policy"),
    conda:
        CONDA_ENV
    log:
        "logs/construct/{prompts}/responses/{policy}{shard}.log",
    message:
        "Sampling {wildcards.policy}{wildcards.shard} on the {wildcards.prompts} prompts ({params.asks})"
    shell:
        "{params.run} policy={wildcards.policy} ++io.prompts={input.prompts_file} {params.shard}"
        " ++io.cache_dir={params.cache} ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule sample_merge:
    wildcard_constraints:
        policy=PLAN.sharded_policies_re(),
    input:
        prompts_file=rules.construct_prompts.output[0],
        shards=lambda w: shard_files(rules.sample.output[0], PLAN.policy_shards(w.policy)),
        missing=rebuilt_if_missing("sample_merge"),
    output:
        unsharded(rules.sample.output[0]),
    params:
        run=PLAN.stage("merge_responses"),
        fp=PLAN.policy_fp,
        shards=lambda w, input: hydra_list(input.shards),
    conda:
        CONDA_ENV
    log:
        "logs/construct/{prompts}/responses/{policy}.merge.log",
    message:
        "Merging the sample shards of {wildcards.policy} on the {wildcards.prompts} prompts"
    shell:
        "{params.run} ++io.prompts={input.prompts_file} '++io.shards={params.shards}'"
        " ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


ruleorder: sample_merge > sample


rule judge:
    input:
        prompts_file=rules.construct_prompts.output[0],
        responses=lambda w: expand(
            unsharded(rules.sample.output[0]), prompts=w.prompts, policy=PLAN.construction_for(w.prompts)["policies"]
        ),
        model=lambda w: expand(rules.tiny_model.output[0], model=PLAN.models("judge", w.judge)),
        missing=rebuilt_if_missing("judge"),
    output:
        judgments="results/construct/{prompts}/judgments/{judge}.parquet",
        report="results/construct/{prompts}/judgments/{judge}.report.json",
    params:
        run=PLAN.stage("judge"),
        asks=PLAN.asks("judge"),
        fp=PLAN.judge_fp,
        responses=lambda w, input: hydra_list(input.responses),
        cache="results/cache/generations/judge-{judge}",
    threads: PLAN.threads("judge")
    resources:
        **PLAN.resources("judge"),
    conda:
        CONDA_ENV
    log:
        "logs/construct/{prompts}/judgments/{judge}.log",
    message:
        "Judging the sampled responses to {wildcards.prompts} with {wildcards.judge} ({params.asks})"
    shell:
        "{params.run} judge={wildcards.judge} ++io.prompts={input.prompts_file}"
        " '++io.responses={params.responses}' ++io.cache_dir={params.cache} ++io.out={output.judgments}"
        " ++io.report={output.report} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule build_sets:
    input:
        prompts_file=rules.construct_prompts.output[0],
        responses=rules.judge.input.responses,
        judgments=lambda w: expand(
            rules.judge.output.judgments, prompts=w.prompts, judge=PLAN.construction(w.benchmark)["judge"]
        ),
        missing=rebuilt_if_missing("build_sets"),
    output:
        sets=directory("results/construct/{prompts}/sets/{benchmark}"),
        report="results/construct/{prompts}/sets/{benchmark}.report.json",
    params:
        run=PLAN.stage("build"),
        fp=PLAN.source_fp,
        responses=lambda w, input: hydra_list(input.responses),
    conda:
        CONDA_ENV
    log:
        "logs/construct/{prompts}/sets/{benchmark}.log",
    message:
        "Building the pairwise and best-of-N sets of {wildcards.benchmark} from the judged samples"
    shell:
        "{params.run} benchmark={wildcards.benchmark} ++io.prompts={input.prompts_file} '++io.responses={params.responses}'"
        " ++io.judgments={input.judgments} ++io.out={output.sets} ++io.report={output.report} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"
