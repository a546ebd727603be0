"""The world-model training rule's time per step against the bare model step, on this machine.

The bare step is one forward + backward + AdamW update of the configured world model on an
in-memory batch (``world_model.train.batch_size`` windows of ``history + 1`` frames, with the
configured SIGReg directions and reconstruction term): the floor the rule cannot beat. The
rule's rate comes from its Snakemake benchmark file (wall seconds over ``train.steps``, start-up,
frame preload and validation included). Usage::

    python benchmarks/world_model_step.py --config config/config.yaml \\
        --benchmark results/benchmarks/train_world_model.tsv

Time on an idle machine: the load average is printed beside the figures.
"""

from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path

import torch
import yaml

from larc_core.floors import world_model_step_seconds
from larc_core.world_model import WorldModelConfig, WorldModelTrainConfig


def bare_step_seconds(model_cfg: WorldModelConfig, train_cfg: WorldModelTrainConfig,
                      steps: int, warmup: int, threads: int) -> float:
    """Median seconds of one optimisation step on a fixed in-memory batch (the floor rule
    machine_floors measures too: :func:`larc_core.floors.world_model_step_seconds`)."""
    torch.set_num_threads(threads)
    return world_model_step_seconds(model_cfg, train_cfg, steps, warmup)


def rule_step_seconds(benchmark: Path, steps: int) -> tuple[float, float]:
    """(wall s per step, CPU s per step) of the rule from its Snakemake benchmark file."""
    with benchmark.open() as f:
        row = next(csv.DictReader(f, delimiter="\t"))
    return float(row["s"]) / steps, float(row["cpu_time"]) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="config/config.yaml", help="world_model.* settings")
    ap.add_argument("--benchmark", default="results/benchmarks/train_world_model.tsv",
                    help="the rule's Snakemake benchmark file (skipped if missing)")
    ap.add_argument("--steps", type=int, default=30, help="timed bare steps")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2, help="torch threads (the rule's threads)")
    args = ap.parse_args()
    wm = yaml.safe_load(Path(args.config).read_text())["world_model"]
    model_cfg = WorldModelConfig.from_dict(wm["model"])
    train_cfg = WorldModelTrainConfig(**wm["train"])
    load_before = os.getloadavg()[0]
    bare = bare_step_seconds(model_cfg, train_cfg, args.steps, args.warmup, args.threads)
    print(f"world-model step | bare (median of {args.steps}, {args.threads} threads, batch "
          f"{train_cfg.batch_size}): {bare:.4f} s/step = {1 / bare:.1f} steps/s | load average "
          f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after", flush=True)
    bench = Path(args.benchmark)
    if bench.is_file():
        wall, cpu = rule_step_seconds(bench, train_cfg.steps)
        print(f"world-model step | rule ({bench}, {train_cfg.steps} steps): {wall:.4f} s/step "
              f"wall = {1 / wall:.1f} steps/s, {cpu:.4f} CPU s/step | rule / bare "
              f"{wall / bare:.2f}x", flush=True)
    else:
        print(f"world-model step | no rule benchmark file at {bench}", flush=True)


if __name__ == "__main__":
    main()
