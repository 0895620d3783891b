"""The run's record: results/runs/<run>/config.yaml, the resolved config its summaries were made with (the
overrides typed, the run's settings, each listed benchmark's and RM's node). io.benchmarks, io.rms: the run's lists
(``benchmark=<name>`` alone runs that one benchmark); io.out: the YAML file."""

from rmeval.io import write_text
from rmeval.stages._entry import entry, io_path, io_paths, job_overrides


@entry
def main(cfg):
    import yaml

    from rmeval.config import compose_benchmark, rm_node
    from rmeval.runs import run_record

    overrides = job_overrides()
    names = {key: [str(n) for n in io_paths(cfg, key)] for key in ("benchmarks", "rms")}  # the run's, as the DAG has them
    benchmarks = {n: compose_benchmark(n, overrides) for n in names["benchmarks"]}
    rms = {n: rm_node(cfg, n, overrides) for n in names["rms"]}
    record = run_record(cfg, overrides, benchmarks, rms)
    header = (f"# run {record['run']}: the resolved config of the summaries in this folder "
              "(rmeval.runs; API keys are never recorded, only the environment variable a YAML names)\n")
    write_text(header + yaml.safe_dump(record, sort_keys=False, allow_unicode=True), io_path(cfg, "out"))


if __name__ == "__main__":
    main()
