"""Snakemake script for the training rules train_<stage> (workflow/rules/policies.smk): any
registered stage, its outputs those of its objective (every one writes ``train_log``)."""

from pathlib import Path

from larc_core import stages
from larc_core.logs import setup_rule_logging


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    init = sm.input.get("init")
    stages.train_policy(
        sm.params.settings,
        sm.params.seed,
        demos=sm.input.h5,
        latents=sm.input.latents,
        world_model=sm.input.world_model,
        out_dir=str(Path(sm.output.train_log).parent),
        init_dir=str(Path(init).parent) if init else None,
        threads=sm.threads,
    )


# Guarded: worker processes started with "spawn" re-import this file without `snakemake`.
if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
