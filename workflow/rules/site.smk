# Site stage: the run's static results site, results/runs/<run>/site/ (rmeval.site, rmeval.stages.site): one folder per
# benchmark (leaderboard, item browser, suspect items; one job each), then the top page with the cross-benchmark
# leaderboard and the assets. Open results/runs/<run>/site/index.html in a browser: no server, no network.
from rmeval.plots import figures as registered_figures

# Every figure's caption (workflow/report/*.rst), read by the site beside its PNG; an edited caption rebuilds the site.
SITE_CAPTIONS = sorted({str(Path(workflow.basedir, "workflow", "report", f.caption))
                        for scope in ("benchmark", "all") for f in registered_figures(scope=scope)})


rule site_benchmark:
    input:
        items_file=rules.data.output.items_file,
        texts=rules.data.output.texts_file,
        scores=rules.significance.input.scores,
        comparisons=rules.significance.input.comparisons,
        leaderboard=rules.leaderboard.output.csv,
        leaderboard_md=rules.leaderboard.output.md,
        significance=rules.leaderboard.input.significance,
        # the PNGs of the benchmark's figures: the full set where it has a downstream stage, else the metrics-only set
        figures=branch(lambda w: w.benchmark in PLAN.pool_benchmarks,
                       then=[p for p in rules.plots.output if p.endswith(".png")],
                       otherwise=[p for p in rules.plots_metrics_only.output if p.endswith(".png")]),
        captions=SITE_CAPTIONS,
    output:
        directory(f"{RUN_DIR}/site/benchmarks/{{benchmark}}"),
    params:
        run=PLAN.stage("site"),
        fp=PLAN.settings_fp("metrics"),
        scores=lambda w, input: hydra_list(input.scores),
        comparisons=lambda w, input: hydra_list(input.comparisons),
        significance=lambda w, input: io_arg("significance", input.significance),
        figures=lambda w, input: hydra_list(input.figures),
        captions=lambda w, input: hydra_list(input.captions),
    conda:
        CONDA_ENV
    log:
        f"{RUN_LOGS}/site/{{benchmark}}.log",
    message:
        "Writing the {wildcards.benchmark} pages of the results site (leaderboard, item browser, suspect items)"
    shell:
        "{params.run} benchmark={wildcards.benchmark} ++io.items={input.items_file} ++io.texts={input.texts}"
        " '++io.scores={params.scores}' '++io.comparisons={params.comparisons}' ++io.leaderboard={input.leaderboard}"
        " ++io.leaderboard_md={input.leaderboard_md} {params.significance} '++io.figures={params.figures}'"
        " '++io.captions={params.captions}' ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule site:
    input:
        benchmarks=expand(rules.site_benchmark.output[0], benchmark=PLAN.benchmarks),
        leaderboard=rules.leaderboard_all.output.csv,
        leaderboard_md=rules.leaderboard_all.output.md,
        figures=[p for p in rules.plots_all.output if p.endswith(".png")] if PLAN.pool_benchmarks else [],
        captions=SITE_CAPTIONS,
    output:
        index=f"{RUN_DIR}/site/index.html",
        assets=directory(f"{RUN_DIR}/site/assets"),
    params:
        run=PLAN.stage("site"),
        fp=PLAN.settings_fp("metrics"),
        benchmarks=lambda w, input: hydra_list(input.benchmarks),
        figures=lambda w, input: hydra_list(input.figures),
        captions=lambda w, input: hydra_list(input.captions),
    conda:
        CONDA_ENV
    log:
        f"{RUN_LOGS}/site/index.log",
    message:
        f"Writing the results site of run {RUN_NAME}: {RUN_DIR}/site/index.html"
    shell:
        "{params.run} ++io.all=true ++io.leaderboard={input.leaderboard} ++io.leaderboard_md={input.leaderboard_md}"
        " '++io.benchmark_dirs={params.benchmarks}' '++io.figures={params.figures}' '++io.captions={params.captions}'"
        " ++io.out={output.index} ++io.assets={output.assets} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"
