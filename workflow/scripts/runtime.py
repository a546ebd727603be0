"""Snakemake script for rule runtime."""

from larc_core import stages
from larc_core.logs import setup_rule_logging


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    stages.runtime(list(sm.input.benchmarks), sm.output.md, rules=sm.params.rules,
                   metadata_dir=sm.params.metadata_dir)


# Guarded: worker processes started with "spawn" re-import this file without `snakemake`.
if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
