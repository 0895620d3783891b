# Plots stage: figures (PNG + PDF) for the report (rmeval.plots); captions in workflow/report/*.rst.
# The figures and their outputs come from rmeval.plots' registry (one module per figure).
from rmeval.dag import figure_outputs
from rmeval.plots import figure_names, figures

# Figures that need a pairwise judge's comparisons (position bias) are drawn only when the run lists one.
PAIRWISE_RUN = bool(PLAN.listed("comparisons"))


rule plots:
    wildcard_constraints:
        benchmark=PLAN.pool_re(True),
    input:
        metrics=rules.leaderboard.input.metrics,
        downstream=rules.correlation.input.downstream,
        table=rules.correlation.output.table,
        points=rules.correlation.output.points,
        significance=rules.leaderboard.input.significance,
    output:
        **figure_outputs(figures(pairwise=PAIRWISE_RUN), f"{RUN_DIR}/plots/{{benchmark}}", report),
    params:
        run=PLAN.stage("plots"),
        fp=PLAN.settings_fp("metrics", "downstream", "correlation"),
        metrics=lambda w, input: hydra_list(input.metrics),
        downstream=lambda w, input: hydra_list(input.downstream),
        significance=lambda w, input: io_arg("significance", input.significance),
        only=hydra_list(figure_names(pairwise=PAIRWISE_RUN)),
        out_dir=lambda w, output: os.path.dirname(output[0]),
    conda:
        CONDA_ENV
    log:
        f"{RUN_LOGS}/plots/{{benchmark}}.log",
    message:
        "Drawing the {wildcards.benchmark} plots"
    shell:
        "{params.run} benchmark={wildcards.benchmark} '++io.metrics={params.metrics}' '++io.downstream={params.downstream}'"
        " ++io.correlation={input.table} ++io.points={input.points} {params.significance} '++io.only={params.only}'"
        " ++io.out_dir={params.out_dir}"
        " > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule plots_metrics_only:
    # Benchmarks without judge scores (no downstream stage): the figures that need metrics alone.
    wildcard_constraints:
        benchmark=PLAN.pool_re(False),
    input:
        metrics=rules.leaderboard.input.metrics,
    output:
        **figure_outputs(figures(judged=False, pairwise=PAIRWISE_RUN), f"{RUN_DIR}/plots/{{benchmark}}", report),
    params:
        run=PLAN.stage("plots"),
        fp=PLAN.settings_fp("metrics"),
        metrics=lambda w, input: hydra_list(input.metrics),
        only=hydra_list(figure_names(judged=False, pairwise=PAIRWISE_RUN)),
        out_dir=lambda w, output: os.path.dirname(output[0]),
    conda:
        CONDA_ENV
    log:
        f"{RUN_LOGS}/plots/{{benchmark}}.log",
    message:
        "Drawing the {wildcards.benchmark} leaderboard figures"
    shell:
        "{params.run} benchmark={wildcards.benchmark} '++io.metrics={params.metrics}'"
        " '++io.only={params.only}' ++io.out_dir={params.out_dir} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule plots_all:
    input:
        table=rules.correlation_all.output.table,
    output:
        **figure_outputs(figures(scope="all"), f"{RUN_DIR}/plots/all", report),
    params:
        run=PLAN.stage("plots"),
        fp=PLAN.settings_fp("correlation", "downstream", "metrics"),
        out_dir=lambda w, output: os.path.dirname(output[0]),
    conda:
        CONDA_ENV
    log:
        f"{RUN_LOGS}/plots/all.log",
    message:
        "Drawing the cross-benchmark correlation heatmap"
    shell:
        "{params.run} ++io.all=true ++io.correlation={input.table}"
        " ++io.out_dir={params.out_dir} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"
