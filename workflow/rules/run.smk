# The run's record: results/runs/<run>/config.yaml, the resolved config behind the run's summaries (rmeval.runs).
# Its fp hashes the whole composed config, so any changed setting rewrites it.
from rmeval.config import fingerprint
from rmeval.runs import run_settings

_RUN_SETTINGS_FP = fingerprint(run_settings(PLAN.cfg))


rule run_config:
    output:
        f"{RUN_DIR}/config.yaml",
    params:
        run=PLAN.stage("run_config"),
        fp=lambda w: _RUN_SETTINGS_FP + PLAN.settings_fp()(w),
        benchmarks=hydra_list(PLAN.benchmarks),
        rms=hydra_list(PLAN.rms),
    conda:
        CONDA_ENV
    log:
        f"{RUN_LOGS}/config.log",
    message:
        f"Recording the config of run {RUN_NAME}"
    shell:
        "{params.run} '++io.benchmarks={params.benchmarks}' '++io.rms={params.rms}' ++io.out={output} > {log} 2>&1 || {{ tail -n 1 {log} >&2; exit 1; }}"
