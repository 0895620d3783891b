# Downstream stage: best-of-N on held-out prompts per RM, then correlation across RMs
# (rmeval.downstream, rmeval.correlation).


rule downstream:
    input:
        unpack(downstream_inputs_for),
    output:
        "results/downstream/{benchmark}/{rm}.json",
    params:
        fp=downstream_fp,
        args=downstream_args,
    threads: DOWNSTREAM_THREADS
    resources:
        **DOWNSTREAM_RESOURCES,
    conda:
        CONDA_ENV
    log:
        "logs/downstream/{benchmark}/{rm}.log",
    message:
        "Best-of-N of {wildcards.rm} on the held-out prompts of {wildcards.benchmark}"
    shell:
        "{PY} -m rmeval.stages.downstream {OVERRIDE_ARGS} benchmark={wildcards.benchmark} ++io.rm={wildcards.rm} ++io.items={input.items_file}"
        " {params.args} ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule correlation:
    input:
        downstream_inputs,
    output:
        table="results/correlation/{benchmark}.csv",
        points="results/correlation/{benchmark}.points.csv",
    params:
        fp=correlation_fp,
        paths=list_override,
    conda:
        CONDA_ENV
    log:
        "logs/correlation/{benchmark}.log",
    message:
        "Correlating benchmark metrics with best-of-N quality across RMs on {wildcards.benchmark}"
    shell:
        "{PY} -m rmeval.stages.correlation {OVERRIDE_ARGS} benchmark={wildcards.benchmark} '++io.downstream={params.paths}'"
        " ++io.out={output.table} ++io.points={output.points} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule correlation_all:
    input:
        downstream=all_downstream_inputs,
        metrics=all_metrics_inputs,
    output:
        table="results/correlation/all.csv",
        points="results/correlation/all.points.csv",
    params:
        fp=correlation_fp,
        downstream=downstream_list_override,
        metrics=metrics_list_override,
    conda:
        CONDA_ENV
    log:
        "logs/correlation/all.log",
    message:
        "Correlating every benchmark's metrics with the best-of-N pools across RMs"
    shell:
        "{PY} -m rmeval.stages.correlation {OVERRIDE_ARGS} ++io.all=true '++io.downstream={params.downstream}'"
        " '++io.metrics={params.metrics}' ++io.out={output.table} ++io.points={output.points}"
        " > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"
