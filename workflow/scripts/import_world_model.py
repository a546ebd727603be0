"""Snakemake script for rule import_world_model."""

from larc_core import stages
from larc_core.logs import setup_rule_logging


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    stages.import_world_model(sm.params.settings, sm.input.ckpt, sm.input.h5, sm.output.ckpt)


# Guarded: worker processes started with "spawn" re-import this file without `snakemake`.
if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
