"""Snakemake script for rule counterfactual."""

from larc_core import stages
from larc_core.logs import setup_rule_logging


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    stages.counterfactual(sm.params.settings, sm.input.h5, sm.input.world_model,
                          sm.input.get("pairs"), sm.output.json)


# Guarded: worker processes started with "spawn" re-import this file without `snakemake`.
if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
