"""Snakemake script for rule machine_floors."""

from larc_core.evaluation.state_ceiling import state_features
from larc_core.floors import measure_floors
from larc_core.io import atomic_write_json
from larc_core.logs import get_logger, setup_rule_logging

log = get_logger("larc.floors")


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    state_dim = state_features([[0.0] * 7]).shape[-1]  # the state ceiling's policy input
    floors = measure_floors(sm.params.config, planners=dict(sm.params.planners),
                            wm_threads=int(sm.params.world_model_threads),
                            state_dim=int(state_dim), log=log.info)
    atomic_write_json(sm.output.json, floors)
    log.info("wrote %s (%.0f s)", sm.output.json, floors["measured_in_s"])


# Guarded: worker processes started with "spawn" re-import this file without `snakemake`.
if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
