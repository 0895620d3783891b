# Plots stage: figures (PNG + PDF) for the report (rmeval.plots); captions in workflow/report/*.rst.


rule plots:
    wildcard_constraints:
        benchmark=POOL_RE,
    input:
        unpack(plot_inputs),
    output:
        **plot_outputs(),
    params:
        fp=metrics_fp,
        metrics=metrics_list_override,
        downstream=downstream_list_override,
        significance=significance_arg,
        out_dir="results/plots/{benchmark}",
    conda:
        CONDA_ENV
    log:
        "logs/plots/{benchmark}.log",
    message:
        "Drawing the {wildcards.benchmark} plots"
    shell:
        "{PY} -m rmeval.stages.plots {OVERRIDE_ARGS} benchmark={wildcards.benchmark} '++io.metrics={params.metrics}' '++io.downstream={params.downstream}'"
        " ++io.correlation={input.table} ++io.points={input.points} {params.significance} ++io.out_dir={params.out_dir}"
        " > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule plots_metrics_only:
    # Benchmarks without judge scores (no downstream stage): the figures that need metrics alone.
    wildcard_constraints:
        benchmark=NO_POOL_RE,
    input:
        metrics=leaderboard_inputs,
    output:
        **metrics_only_plot_outputs(),
    params:
        fp=metrics_fp,
        metrics=metrics_list_override,
        only=hydra_list(METRICS_ONLY_PLOTS),
        out_dir="results/plots/{benchmark}",
    conda:
        CONDA_ENV
    log:
        "logs/plots/{benchmark}.log",
    message:
        "Drawing the {wildcards.benchmark} leaderboard figures"
    shell:
        "{PY} -m rmeval.stages.plots {OVERRIDE_ARGS} benchmark={wildcards.benchmark} '++io.metrics={params.metrics}'"
        " '++io.only={params.only}' ++io.out_dir={params.out_dir} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule plots_all:
    input:
        table="results/correlation/all.csv",
    output:
        png=report(
            "results/plots/all/correlation_heatmap.png",
            caption="../report/correlation_all.rst",
            category="Downstream",
        ),
        pdf="results/plots/all/correlation_heatmap.pdf",
    params:
        fp=correlation_fp,
    conda:
        CONDA_ENV
    log:
        "logs/plots/all.log",
    message:
        "Drawing the cross-benchmark correlation heatmap"
    shell:
        "{PY} -m rmeval.stages.plots {OVERRIDE_ARGS} ++io.all=true ++io.correlation={input.table}"
        " ++io.out_dir=results/plots/all > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"
