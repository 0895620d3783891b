# Downstream stage: best-of-N on held-out prompts per RM, then correlation across RMs (rmeval.downstream,
# rmeval.correlation). Pointwise RMs pick their best-of-N candidate by score; pairwise judges by a knockout (more
# judge calls, so their jobs take the RM's threads and resources).


rule downstream:
    input:
        items_file=rules.data.output.items_file,
        result=rules.metrics.input.result,
        texts=branch(lambda w: PLAN.artifact(w.rm) == "comparisons", then=rules.data.output.texts_file),
        model=branch(lambda w: PLAN.artifact(w.rm) == "comparisons", then=rules.score.input.model),
        missing=rebuilt_if_missing("downstream"),
    output:
        "results/downstream/{benchmark}/{rm}.json",
    params:
        run=PLAN.stage("downstream"),
        fp=PLAN.settings_fp("downstream", "metrics"),
        args=lambda w, input: PLAN.downstream_args(w.rm, input.result, input.texts, expand(rules.compare.params.cache, rm=w.rm)[0]),
    threads: PLAN.threads("downstream")
    resources:
        **PLAN.resources("downstream"),
    conda:
        CONDA_ENV
    log:
        "logs/downstream/{benchmark}/{rm}.log",
    message:
        "Best-of-N of {wildcards.rm} on the held-out prompts of {wildcards.benchmark}"
    shell:
        "{params.run} benchmark={wildcards.benchmark} ++io.rm={wildcards.rm} ++io.items={input.items_file}"
        " {params.args} ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule correlation:
    input:
        downstream=expand(rules.downstream.output[0], rm=PLAN.rms, allow_missing=True),
    output:
        table=f"{RUN_DIR}/correlation/{{benchmark}}.csv",
        points=f"{RUN_DIR}/correlation/{{benchmark}}.points.csv",
        summary=f"{RUN_DIR}/correlation/{{benchmark}}.summary.md",
    params:
        run=PLAN.stage("correlation"),
        fp=PLAN.settings_fp("correlation", "downstream", "metrics"),
        downstream=lambda w, input: hydra_list(input.downstream),
    conda:
        CONDA_ENV
    log:
        f"{RUN_LOGS}/correlation/{{benchmark}}.log",
    message:
        "Correlating benchmark metrics with best-of-N quality across RMs on {wildcards.benchmark}"
    shell:
        "{params.run} benchmark={wildcards.benchmark} '++io.downstream={params.downstream}'"
        " ++io.out={output.table} ++io.points={output.points} ++io.summary={output.summary}"
        " > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule correlation_all:
    input:
        downstream=expand(rules.downstream.output[0], benchmark=PLAN.pool_benchmarks, rm=PLAN.rms),
        metrics=rules.leaderboard_all.input.metrics,
    output:
        table=f"{RUN_DIR}/correlation/all.csv",
        points=f"{RUN_DIR}/correlation/all.points.csv",
        summary=f"{RUN_DIR}/correlation/all.summary.md",
    params:
        run=PLAN.stage("correlation"),
        fp=PLAN.settings_fp("correlation", "downstream", "metrics"),
        downstream=lambda w, input: hydra_list(input.downstream),
        metrics=lambda w, input: hydra_list(input.metrics),
    conda:
        CONDA_ENV
    log:
        f"{RUN_LOGS}/correlation/all.log",
    message:
        "Correlating every benchmark's metrics with the best-of-N pools across RMs"
    shell:
        "{params.run} ++io.all=true '++io.downstream={params.downstream}'"
        " '++io.metrics={params.metrics}' ++io.out={output.table} ++io.points={output.points} ++io.summary={output.summary}"
        " > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"
