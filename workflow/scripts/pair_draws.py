"""Snakemake script for rule pair_draws."""

from larc_core.logs import setup_rule_logging
from larc_core.reporting.pair_draws import pair_draw_report


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    pair_draw_report(sm.params.files, sm.output.md, sm.output.json, sm.params.eval_seed)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
