"""Snakemake script for rule wm_ft_point."""

from larc_core import stages
from larc_core.logs import setup_rule_logging


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    seeds = sm.params.settings["seeds"]
    chunk_dirs = {s: str(sm.input[f"chunk_seed{s}"]).rsplit("/", 1)[0] for s in seeds}
    pairs = {int(k.removeprefix("pairs_h")): str(sm.input[k]) for k in sm.input.keys()
             if k.startswith("pairs_h")}
    stages.wm_ft_point(sm.params.settings, sm.wildcards.point, chunk_dirs, pairs,
                       sm.output.json, sm.input.h5, sm.input.latents, sm.input.world_model,
                       threads=sm.threads)


# Guarded: worker processes started with "spawn" re-import this file without `snakemake`.
if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
