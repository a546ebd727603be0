"""Snakemake script for rule regime."""

from pathlib import Path

from larc_core.logs import setup_rule_logging
from larc_core.regimes import run_regime


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    run_regime(
        sm.wildcards.regime,
        overlay=sm.input.overlay,
        snakefile=sm.params.snakefile,
        rundir=sm.params.rundir,
        outputs={Path(p).name: p for p in sm.output},
        cores=sm.threads,
        log_path=sm.log[0],
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
