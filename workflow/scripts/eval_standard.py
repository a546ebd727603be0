"""Snakemake script for rule eval_standard (workflow/rules/standard.smk)."""

from pathlib import Path

from larc_core import stages
from larc_core.logs import setup_rule_logging


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    stages.eval_standard(sm.params.settings, int(sm.wildcards.seed), sm.input.h5,
                         sm.input.latents, sm.input.world_model,
                         str(Path(sm.input.backbone).parent), sm.output.info,
                         list(sm.output.videos))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
