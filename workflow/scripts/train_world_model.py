"""Snakemake script for rule train_world_model."""

from larc_core import stages
from larc_core.logs import setup_rule_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_rule_logging(sm.log[0])
stages.train_world_model(sm.config, sm.input.h5, sm.output.ckpt, threads=sm.threads)
