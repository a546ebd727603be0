"""Snakemake script for rule world_model_views."""

from larc_core import paths, stages
from larc_core.logs import setup_rule_logging


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    stages.world_model_views(
        sm.params.settings, sm.input.h5, sm.input.world_model, sm.input.latents,
        sm.input.backbone, sm.input.stats, sm.input.pairs,
        {k: sm.output[k] for k in paths.WM_VIEWS}, threads=sm.threads,
    )


# Guarded: worker processes started with "spawn" re-import this file without `snakemake`.
if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
