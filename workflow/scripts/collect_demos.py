"""Snakemake script for rule collect_demos."""

from larc_core import stages
from larc_core.logs import setup_rule_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_rule_logging(sm.log[0])
stages.collect_demos(sm.config, sm.output.h5, threads=sm.threads)
