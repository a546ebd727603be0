"""Snakemake script for rule link_artifacts."""

from larc_core import stages
from larc_core.logs import setup_rule_logging

setup_rule_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
stages.link_artifacts(snakemake.config, snakemake.output.manifest)  # noqa: F821
