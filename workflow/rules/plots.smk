# Plots stage: figures (PNG + PDF) for the report (rmeval.plots); captions in workflow/report/*.rst.


rule plots:
    input:
        metrics=leaderboard_inputs,
        downstream=downstream_inputs,
        table="results/correlation/{benchmark}.csv",
        points="results/correlation/{benchmark}.points.csv",
    output:
        **plot_outputs(),
    params:
        fp=metrics_fp,
        metrics=metrics_list_override,
        downstream=downstream_list_override,
        out_dir="results/plots/{benchmark}",
    conda:
        CONDA_ENV
    log:
        "logs/plots/{benchmark}.log",
    message:
        "Drawing the {wildcards.benchmark} plots"
    shell:
        "{PY} -m rmeval.stages.plots {OVERRIDE_ARGS} '++io.metrics={params.metrics}' '++io.downstream={params.downstream}'"
        " ++io.correlation={input.table} ++io.points={input.points} ++io.out_dir={params.out_dir} > {log} 2>&1"
