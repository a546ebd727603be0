"""Snakemake script for rule standard_report (workflow/rules/standard.smk)."""

from larc_core import stages
from larc_core.logs import setup_rule_logging


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    stages.standard_report(sm.params.settings, list(sm.input.infos), sm.output.md,
                           sm.output.json)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
