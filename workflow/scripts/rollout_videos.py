"""Snakemake script for rule rollout_videos."""

from pathlib import Path

from larc_core import stages
from larc_core.logs import setup_rule_logging


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    inputs = dict(sm.input.items())
    checkpoint_dirs = {k.removeprefix("backbone_"): str(Path(v).parent)
                       for k, v in inputs.items() if k.startswith("backbone_")}
    eval_files = {k.removeprefix("eval_"): v for k, v in inputs.items() if k.startswith("eval_")}
    videos = {Path(v).stem: v for v in sm.output.videos}
    stages.rollout_videos(sm.params.settings, sm.input.h5, sm.input.world_model, sm.input.pairs,
                          eval_files, checkpoint_dirs, videos, sm.output.json)


# Guarded: worker processes started with "spawn" re-import this file without `snakemake`.
if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
