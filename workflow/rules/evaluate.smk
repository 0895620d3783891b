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
        csv="results/significance/{benchmark}.csv",
        md="results/significance/{benchmark}.md",
    params:
        run=PLAN.stage("significance"),
        fp=PLAN.settings_fp("metrics"),
        scores=lambda w, input: hydra_list(input.scores),
        comparisons=lambda w, input: hydra_list(input.comparisons),
    conda:
        CONDA_ENV
    log:
        "logs/significance/{benchmark}.log",
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
    output:
        csv=report(
            "results/leaderboard/{benchmark}.csv",
            caption="../report/leaderboard_table.rst",
            category="Leaderboard",
        ),
        md="results/leaderboard/{benchmark}.md",
    params:
        run=PLAN.stage("leaderboard"),
        fp=PLAN.settings_fp("metrics"),
        metrics=lambda w, input: hydra_list(input.metrics),
        significance=lambda w, input: io_arg("significance", input.significance),
    conda:
        CONDA_ENV
    log:
        "logs/leaderboard/{benchmark}.log",
    message:
        "Writing the {wildcards.benchmark} leaderboard"
    shell:
        "{params.run} benchmark={wildcards.benchmark} '++io.metrics={params.metrics}' {params.significance}"
        " ++io.csv={output.csv} ++io.md={output.md} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule leaderboard_all:
    input:
        metrics=expand(rules.metrics.output[0], benchmark=PLAN.benchmarks, rm=PLAN.rms),
    output:
        csv=report(
            "results/leaderboard/all.csv",
            caption="../report/leaderboard_all.rst",
            category="Leaderboard",
        ),
        md="results/leaderboard/all.md",
    params:
        run=PLAN.stage("leaderboard"),
        fp=PLAN.settings_fp("metrics"),
        metrics=lambda w, input: hydra_list(input.metrics),
    conda:
        CONDA_ENV
    log:
        "logs/leaderboard/all.log",
    message:
        "Writing the cross-benchmark leaderboard"
    shell:
        "{params.run} ++io.all=true '++io.metrics={params.metrics}'"
        " ++io.csv={output.csv} ++io.md={output.md} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"
