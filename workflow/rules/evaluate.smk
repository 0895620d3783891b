# Evaluate stage: metrics per RM, then the leaderboard across RMs (rmeval.metrics).


rule metrics:
    input:
        unpack(metrics_inputs),
    output:
        "results/metrics/{benchmark}/{rm}.json",
    params:
        fp=metrics_fp,
        result=metrics_result_arg,
    conda:
        CONDA_ENV
    log:
        "logs/metrics/{benchmark}/{rm}.log",
    message:
        "Computing metrics of {wildcards.rm} on {wildcards.benchmark}"
    shell:
        "{PY} -m rmeval.stages.metrics {OVERRIDE_ARGS} benchmark={wildcards.benchmark} ++io.rm={wildcards.rm} ++io.items={input.items_file}"
        " {params.result} ++io.data_report={input.report_file} ++io.texts={input.texts} ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule leaderboard:
    input:
        unpack(leaderboard_table_inputs),
    output:
        csv=report(
            "results/leaderboard/{benchmark}.csv",
            caption="../report/leaderboard_table.rst",
            category="Leaderboard",
        ),
        md="results/leaderboard/{benchmark}.md",
    params:
        fp=metrics_fp,
        paths=metrics_list_override,
        significance=significance_arg,
    conda:
        CONDA_ENV
    log:
        "logs/leaderboard/{benchmark}.log",
    message:
        "Writing the {wildcards.benchmark} leaderboard"
    shell:
        "{PY} -m rmeval.stages.leaderboard {OVERRIDE_ARGS} benchmark={wildcards.benchmark} '++io.metrics={params.paths}' {params.significance}"
        " ++io.csv={output.csv} ++io.md={output.md} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule leaderboard_all:
    input:
        all_metrics_inputs,
    output:
        csv=report(
            "results/leaderboard/all.csv",
            caption="../report/leaderboard_all.rst",
            category="Leaderboard",
        ),
        md="results/leaderboard/all.md",
    params:
        fp=metrics_fp,
        paths=list_override,
    conda:
        CONDA_ENV
    log:
        "logs/leaderboard/all.log",
    message:
        "Writing the cross-benchmark leaderboard"
    shell:
        "{PY} -m rmeval.stages.leaderboard {OVERRIDE_ARGS} ++io.all=true '++io.metrics={params.paths}'"
        " ++io.csv={output.csv} ++io.md={output.md} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule significance:
    input:
        unpack(significance_inputs),
    output:
        "results/significance/{benchmark}.csv",
    params:
        fp=metrics_fp,
        scores=scores_override,
        comparisons=comparisons_override,
    conda:
        CONDA_ENV
    log:
        "logs/significance/{benchmark}.log",
    message:
        "Paired comparisons of every pair of RMs on {wildcards.benchmark}"
    shell:
        "{PY} -m rmeval.stages.significance {OVERRIDE_ARGS} benchmark={wildcards.benchmark} ++io.items={input.items_file}"
        " '++io.scores={params.scores}' '++io.comparisons={params.comparisons}' ++io.out={output}"
        " > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"
