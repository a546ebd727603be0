"""Snakemake script for rule table."""

from larc_core import stages
from larc_core.logs import setup_rule_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_rule_logging(sm.log[0])
stages.table(sm.config, list(sm.input.evals), sm.output.md, sm.output.csv)
