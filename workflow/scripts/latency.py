"""Snakemake script for rule latency."""

from pathlib import Path

from larc_core import stages
from larc_core.logs import setup_rule_logging


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    checkpoint_dirs = {
        key.removeprefix("backbone_"): str(Path(path).parent)
        for key, path in sm.input.items()
        if key.startswith("backbone_")
    }
    stages.latency(
        sm.params.settings, list(sm.input.evals), demos=sm.input.h5,
        world_model=sm.input.world_model, pairs=sm.input.pairs, checkpoint_dirs=checkpoint_dirs, out_md=sm.output.md,
        out_json=sm.output.json, figure=sm.output.png,
    )


# Guarded: worker processes started with "spawn" re-import this file without `snakemake`.
if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
