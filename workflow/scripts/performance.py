"""Snakemake script for rule performance."""

from pathlib import Path

from larc_core.data import DemoFile
from larc_core.logs import get_logger, setup_rule_logging
from larc_core.reporting.performance import write_performance

log = get_logger("larc.performance")


def main(sm) -> None:
    setup_rule_logging(sm.log[0])
    with DemoFile(sm.input.h5) as demo:
        frames = demo.n_frames
    load_logs = sorted(Path(sm.params.load_dir).glob("*.tsv"))
    res = write_performance(
        sm.output.md, sm.output.json, benchmarks=list(sm.input.benchmarks),
        floors_json=sm.input.floors, settings={**sm.params.settings, "frames": frames},
        eval_dir=sm.params.eval_dir, load_logs=load_logs,
        cem_curve=sm.input.get("cem_curve"), planners=dict(sm.params.planners),
        metadata_dir=sm.params.metadata_dir,
    )
    log.info("wrote %s: elapsed %.0f s, worst ratio %s, load %s", sm.output.md, res["elapsed_s"],
             res["worst_ratio"], res["load"])


# Guarded: worker processes started with "spawn" re-import this file without `snakemake`.
if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
