"""Snakemake script for rule data_report."""

from larc_core import stages
from larc_core.logs import setup_rule_logging


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    stages.data_report(sm.input.h5, sm.output.md, sm.output.json, sm.output.png)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
