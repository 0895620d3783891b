# Evaluate stage: metrics per RM, paired tests between RMs, then the leaderboards (rmeval.metrics, rmeval.metrics.paired).


rule metrics:
    input:
        items_file=rules.data.output.items_file,
        report_file=rules.data.output.report_file,
        texts=rules.data.output.texts_file,
        result=lambda w: RESULT_FILES[PLAN.artifact(w.rm)],
        missing=rebuilt_if_missing("metrics"),
    output:
        "results/metrics/{benchmark}/{rm}.json",
    params:
        run=PLAN.stage("metrics"),
        fp=PLAN.settings_fp("metrics"),
        result=lambda w, input: io_arg(PLAN.artifact(w.rm), input.result),
    conda:
        CONDA_ENV
    log:
        "logs/metrics/{benchmark}/{rm}.log",
    message:
        "Computing metrics of {wildcards.rm} on {wildcards.benchmark}"
    shell:
        "{params.run} benchmark={wildcards.benchmark} ++io.rm={wildcards.rm} ++io.items={input.items_file}"
        " {params.result} ++io.data_report={input.report_file} ++io.texts={input.texts} ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule significance:
    input:
        items_file=rules.data.output.items_file,
        scores=expand(RESULT_FILES["scores"], rm=PLAN.listed("scores"), allow_missing=True),
        comparisons=expand(RESULT_FILES["comparisons"], rm=PLAN.listed("comparisons"), allow_missing=True),
    output:
        csv=f"{RUN_DIR}/significance/{{benchmark}}.csv",
        md=f"{RUN_DIR}/significance/{{benchmark}}.md",
    params:
        run=PLAN.stage("significance"),
        fp=PLAN.settings_fp("metrics"),
        scores=lambda w, input: hydra_list(input.scores),
        comparisons=lambda w, input: hydra_list(input.comparisons),
    conda:
        CONDA_ENV
    log:
        f"{RUN_LOGS}/significance/{{benchmark}}.log",
    message:
        "Paired comparisons of every pair of RMs on {wildcards.benchmark}"
    shell:
        "{params.run} benchmark={wildcards.benchmark} ++io.items={input.items_file}"
        " '++io.scores={params.scores}' '++io.comparisons={params.comparisons}' ++io.out={output.csv} ++io.md={output.md}"
        " > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule leaderboard:
    input:
        metrics=expand(rules.metrics.output[0], rm=PLAN.rms, allow_missing=True),
        significance=branch(lambda w: PLAN.has_significance(w.benchmark), then=rules.significance.output[0]),
        published=lambda w: published_files([w.benchmark]),
    output:
        csv=report(
            f"{RUN_DIR}/leaderboard/{{benchmark}}.csv",
            caption="../report/leaderboard_table.rst",
            category="Leaderboard",
        ),
        md=f"{RUN_DIR}/leaderboard/{{benchmark}}.md",
    params:
        run=PLAN.stage("leaderboard"),
        fp=PLAN.settings_fp("metrics", "leaderboard"),
        metrics=lambda w, input: hydra_list(input.metrics),
        significance=lambda w, input: io_arg("significance", input.significance),
    conda:
        CONDA_ENV
    log:
        f"{RUN_LOGS}/leaderboard/{{benchmark}}.log",
    message:
        "Writing the {wildcards.benchmark} leaderboard"
    shell:
        "{params.run} benchmark={wildcards.benchmark} '++io.metrics={params.metrics}' {params.significance}"
        " ++io.csv={output.csv} ++io.md={output.md} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule leaderboard_all:
    input:
        metrics=expand(rules.metrics.output[0], benchmark=PLAN.benchmarks, rm=PLAN.rms),
        significance=expand(rules.significance.output.csv, benchmark=[b for b in PLAN.benchmarks if PLAN.has_significance(b)]),
        published=published_files(PLAN.benchmarks),
    output:
        csv=report(
            f"{RUN_DIR}/leaderboard/all.csv",
            caption="../report/leaderboard_all.rst",
            category="Leaderboard",
        ),
        md=f"{RUN_DIR}/leaderboard/all.md",
    params:
        run=PLAN.stage("leaderboard"),
        fp=PLAN.settings_fp("metrics", "leaderboard"),
        metrics=lambda w, input: hydra_list(input.metrics),
        significance=lambda w, input: hydra_list(input.significance),
    conda:
        CONDA_ENV
    log:
        f"{RUN_LOGS}/leaderboard/all.log",
    message:
        "Writing the cross-benchmark leaderboard"
    shell:
        "{params.run} ++io.all=true '++io.metrics={params.metrics}' '++io.significance={params.significance}'"
        " ++io.csv={output.csv} ++io.md={output.md} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"
