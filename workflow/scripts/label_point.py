"""Snakemake script for rule label_point (workflow/rules/label_efficiency.smk)."""

from pathlib import Path

from larc_core import stages
from larc_core.logs import setup_rule_logging


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    init = {s: str(Path(f).parent) for s, f in zip(sm.params.seeds, sm.input.get("init", []),
                                                  strict=False)}
    stages.label_point(sm.params.settings, sm.wildcards.method, float(sm.wildcards.fraction),
                       init, dict(zip(sm.params.offsets, sm.input.pairs, strict=True)),
                       sm.output.json, sm.input.h5, sm.input.latents, sm.input.world_model,
                       threads=sm.threads)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
