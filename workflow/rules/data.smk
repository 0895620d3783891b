# Data stage: raw benchmark -> canonical items + unique texts (rmeval.data, rmeval.stages.data).


rule smoke_fixture:
    output:
        directory("resources/fixtures/{benchmark}"),
    params:
        fp=fixture_fp,
    conda:
        CONDA_ENV
    log:
        "logs/data/{benchmark}.fixture.log",
    message:
        "Writing the generated {wildcards.benchmark} benchmark fixture"
    shell:
        "{PY} -m rmeval.stages.fixture {OVERRIDE_ARGS} benchmark={wildcards.benchmark} ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule download:
    output:
        directory("resources/downloads/{benchmark}"),
    params:
        fp=download_fp,
    conda:
        CONDA_ENV
    log:
        "logs/data/{benchmark}.download.log",
    message:
        "Downloading the {wildcards.benchmark} release at its pinned commit (set its root, e.g. RMB_ROOT, to use a local copy instead)"
    shell:
        "{PY} -m rmeval.stages.download {OVERRIDE_ARGS} benchmark={wildcards.benchmark} ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"


rule data:
    input:
        raw=raw_benchmark_input,
    output:
        items_file="results/data/{benchmark}/items.parquet",
        texts_file="results/data/{benchmark}/texts.parquet",
        report_file="results/data/{benchmark}/report.json",
    params:
        fp=data_fp,
        root=raw_root_arg,
    conda:
        CONDA_ENV
    log:
        "logs/data/{benchmark}.log",
    message:
        "Normalising {wildcards.benchmark} into items and unique texts"
    shell:
        "{PY} -m rmeval.stages.data {OVERRIDE_ARGS} benchmark={wildcards.benchmark} {params.root} ++io.items={output.items_file}"
        " ++io.texts={output.texts_file} ++io.report={output.report_file} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"
