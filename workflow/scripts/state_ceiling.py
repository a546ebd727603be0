"""Snakemake script for rule state_ceiling."""

from larc_core import stages
from larc_core.logs import setup_rule_logging


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    stages.state_ceiling(sm.params.settings, sm.input.h5, list(sm.input.pairs), sm.output.json,
                         threads=sm.threads)


# Guarded: worker processes started with "spawn" re-import this file without `snakemake`.
if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
