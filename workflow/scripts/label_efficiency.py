"""Snakemake script for rule label_efficiency (workflow/rules/label_efficiency.smk)."""

from larc_core import stages
from larc_core.logs import setup_rule_logging


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    stages.label_efficiency(sm.params.settings, list(sm.input.points), sm.output.md,
                            sm.output.json, sm.output.png, sm.input.lam)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
