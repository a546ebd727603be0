"""Snakemake script for rules eval and eval_reference."""

from pathlib import Path

from larc_core import stages
from larc_core.logs import setup_rule_logging


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    backbone = sm.input.get("backbone")
    stages.evaluate(
        sm.params.settings,
        int(sm.wildcards.offset),
        demos=sm.input.h5,
        world_model=sm.input.get("world_model"),
        checkpoint_dir=str(Path(backbone).parent) if backbone else None,
        pairs=sm.input.pairs,
        out=sm.output.result,
        seed=sm.params.seed,
        threads=sm.threads,
    )


# Guarded: worker processes started with "spawn" re-import this file without `snakemake`.
if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
