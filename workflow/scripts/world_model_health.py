"""Snakemake script for rule world_model_health."""

from larc_core import stages
from larc_core.logs import setup_rule_logging


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    stages.world_model_health(
        sm.config, sm.input.h5, sm.input.world_model, sm.input.latents,
        sm.output.md, sm.output.json, sm.output.png,
    )


# Guarded: worker processes started with "spawn" re-import this file without `snakemake`.
if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
