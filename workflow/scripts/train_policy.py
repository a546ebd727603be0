"""Snakemake script for rules train_idm, train_chunk and train_wm_ft."""

from pathlib import Path

from larc_core import stages
from larc_core.logs import setup_rule_logging


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    stages.train_policy(
        sm.config,
        sm.params.stage,
        demos=sm.input.h5,
        latents=sm.input.latents,
        world_model=sm.input.world_model,
        out_dir=str(Path(sm.output.backbone).parent),
        init_dir=str(Path(sm.input.init).parent) if sm.params.stage == "wm_ft" else None,
        seed=sm.params.seed,
        threads=sm.threads,
    )


# Guarded: worker processes started with "spawn" re-import this file without `snakemake`.
if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
