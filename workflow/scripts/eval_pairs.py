"""Snakemake script for rule eval_pairs."""

from larc_core import stages
from larc_core.logs import setup_rule_logging


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    stages.eval_pairs(sm.params.settings, int(sm.wildcards.offset), sm.input.h5, sm.output.pairs)


# Guarded: worker processes started with "spawn" re-import this file without `snakemake`.
if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
