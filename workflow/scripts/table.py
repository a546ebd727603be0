"""Snakemake script for rule table."""

from larc_core import stages
from larc_core.logs import setup_rule_logging


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    stages.table(list(sm.input.evals), sm.output.md, sm.output.csv, sm.input.figure,
                 latency_json=sm.input.latency, out_summary_csv=sm.output.summary,
                 out_metrics=sm.output.metrics)


# Guarded: worker processes started with "spawn" re-import this file without `snakemake`.
if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
