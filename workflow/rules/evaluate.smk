# Evaluate stage: metrics per RM, then the leaderboard across RMs (rmeval.metrics).


rule metrics:
    input:
        items_file="results/data/{benchmark}/items.parquet",
        report_file="results/data/{benchmark}/report.json",
        scores="results/scores/{benchmark}/{rm}.parquet",
    output:
        "results/metrics/{benchmark}/{rm}.json",
    params:
        fp=metrics_fp,
    conda:
        CONDA_ENV
    log:
        "logs/metrics/{benchmark}/{rm}.log",
    message:
        "Computing metrics of {wildcards.rm} on {wildcards.benchmark}"
    shell:
        "{PY} -m rmeval.stages.metrics {OVERRIDE_ARGS} ++io.rm={wildcards.rm} ++io.items={input.items_file}"
        " ++io.scores={input.scores} ++io.data_report={input.report_file} ++io.out={output} > {log} 2>&1"


rule leaderboard:
    input:
        leaderboard_inputs,
    output:
        csv="results/leaderboard/{benchmark}.csv",
        md="results/leaderboard/{benchmark}.md",
    params:
        fp=metrics_fp,
        paths=list_override,
    conda:
        CONDA_ENV
    log:
        "logs/leaderboard/{benchmark}.log",
    message:
        "Writing the {wildcards.benchmark} leaderboard"
    shell:
        "{PY} -m rmeval.stages.leaderboard {OVERRIDE_ARGS} '++io.metrics={params.paths}'"
        " ++io.csv={output.csv} ++io.md={output.md} > {log} 2>&1"
