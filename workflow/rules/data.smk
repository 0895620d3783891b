# Data stage: raw benchmark -> canonical items + unique texts (rmeval.data, rmeval.stages.data). A benchmark says
# what kind of source it has (rmeval.benchmarks.base.Source); the rules below make the kinds that need making.


rule fixture:
    output:
        directory("resources/fixtures/{benchmark}"),
    params:
        run=PLAN.stage("fixture"),
        fp=PLAN.source_fp,
    conda:
        CONDA_ENV
    log:
        "logs/data/{benchmark}.fixture.log",
    message:
        "Writing the generated {wildcards.benchmark} benchmark fixture"
    shell:
        "{params.run} benchmark={wildcards.benchmark} ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule download:
    output:
        directory("resources/downloads/{benchmark}"),
    params:
        run=PLAN.stage("download"),
        fp=PLAN.source_fp,
    conda:
        CONDA_ENV
    log:
        "logs/data/{benchmark}.download.log",
    message:
        "Downloading the {wildcards.benchmark} release at its pinned commit (set its root to use a local copy instead)"
    shell:
        "{params.run} benchmark={wildcards.benchmark} ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


# The rule output each source kind is read from; `local` and `hub` sources need no rule.
SOURCE_OUTPUTS = {
    "generated": rules.fixture.output[0],
    "download": rules.download.output[0],
    "constructed": rules.build_sets.output.sets,
}


rule data:
    input:
        raw=lambda w: PLAN.raw_input(w.benchmark, SOURCE_OUTPUTS),
        missing=rebuilt_if_missing("data"),
    output:
        items_file="results/data/{benchmark}/items.parquet",
        texts_file="results/data/{benchmark}/texts.parquet",
        report_file="results/data/{benchmark}/report.json",
    params:
        run=PLAN.stage("data"),
        fp=PLAN.data_fp,
        root=lambda w, input: io_arg("root", input.raw),
    conda:
        CONDA_ENV
    log:
        "logs/data/{benchmark}.log",
    message:
        "Normalising {wildcards.benchmark} into items and unique texts"
    shell:
        "{params.run} benchmark={wildcards.benchmark} {params.root} ++io.items={output.items_file}"
        " ++io.texts={output.texts_file} ++io.report={output.report_file} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"
