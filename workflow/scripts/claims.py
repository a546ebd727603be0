"""Snakemake script for rule claims."""

from pathlib import Path

from larc_core import stages
from larc_core.logs import setup_rule_logging


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    # results/eval/<method>/<file>.json: the folder above every evaluation file's method folder
    eval_dir = str(Path(sm.input.evals[0]).parent.parent)
    stages.claims(sm.params.settings, eval_dir, sm.input.latency, sm.output.md, sm.output.json)


# Guarded: worker processes started with "spawn" re-import this file without `snakemake`.
if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
