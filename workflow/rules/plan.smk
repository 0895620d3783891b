# Plan stage: what the run will send and cost before it runs (rmeval.cost, rmeval.stages.plan). Not part of `all`:
# `snakemake --cores 1 plan` builds the data tables it needs, writes the plan to results/runs/<run>/plan/cost.md|.csv
# and prints it; no API call, no model load.


rule plan:
    input:
        items_files=expand(rules.data.output.items_file, benchmark=PLAN.benchmarks),
        texts=expand(rules.data.output.texts_file, benchmark=PLAN.benchmarks),
    output:
        md=f"{RUN_DIR}/plan/cost.md",
        csv=f"{RUN_DIR}/plan/cost.csv",
    params:
        run=PLAN.stage("plan"),
        fp=PLAN.settings_fp(),
        benchmarks=hydra_list(PLAN.benchmarks),
        rms=hydra_list(PLAN.rms),
        caches=hydra_list(expand(rules.compare.params.cache, rm=PLAN.rms)),
        items_files=lambda w, input: hydra_list(input.items_files),
        texts=lambda w, input: hydra_list(input.texts),
    conda:
        CONDA_ENV
    log:
        f"{RUN_LOGS}/plan/cost.log",
    message:
        "Planning the requests, tokens and cost of every RM of the run (no API call, no model load)"
    shell:
        "{params.run} '++io.benchmarks={params.benchmarks}' '++io.items={params.items_files}' '++io.texts={params.texts}'"
        " '++io.rms={params.rms}' '++io.caches={params.caches}' ++io.csv={output.csv} ++io.md={output.md}"
        " > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}; cat {output.md}"
