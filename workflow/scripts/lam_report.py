"""Snakemake script for rule lam_report (workflow/rules/latent_actions.smk)."""

from larc_core import stages
from larc_core.logs import setup_rule_logging


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    stages.lam_report(sm.params.settings, dict(zip(sm.params.seeds, sm.input.models, strict=True)),
                      sm.input.h5, sm.input.latents, sm.input.world_model, sm.output.md,
                      sm.output.json)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
