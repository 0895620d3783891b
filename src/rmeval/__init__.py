"""rmeval: reproducible reward-model benchmarks as one Snakemake + Hydra DAG."""

__version__ = "0.1.0"
