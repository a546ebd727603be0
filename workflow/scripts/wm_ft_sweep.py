"""Snakemake script for rule wm_ft_sweep."""

from larc_core import stages
from larc_core.logs import setup_rule_logging


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    stages.wm_ft_sweep(sm.params.settings, list(sm.input.points), sm.output.md, sm.output.json)


# Guarded: worker processes started with "spawn" re-import this file without `snakemake`.
if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
