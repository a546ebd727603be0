"""Snakemake script for rule world_model_health."""

from larc_core import paths, stages
from larc_core.logs import setup_rule_logging


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    stages.world_model_health(
        sm.params.settings, sm.input.h5, sm.input.world_model, sm.input.latents,
        sm.output.md, sm.output.json, sm.output.png,
        gap_evals=list(sm.input.get("gap_evals", [])),
        state_ceiling=sm.input.get("state_ceiling"),
        # The views are declared in paths.WM_VIEWS order (common.smk: health_inputs).
        views=(dict(zip(paths.WM_VIEWS, sm.input.views, strict=True))
               if "views" in sm.input.keys() else None),
        probe_log=sm.input.get("probe_log"),
        counterfactual=sm.input.get("counterfactual"),
    )


# Guarded: worker processes started with "spawn" re-import this file without `snakemake`.
if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
