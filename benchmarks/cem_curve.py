"""CEM success versus plan time on the default world model: the measured curve the CPU planner
setting (``planner:`` in config/config.yaml) is chosen from.

Each grid point (samples x iterations, the other settings from the config) runs the real CEM
evaluation (gym-pusht) with one torch thread on ``--pairs`` *tuning* pairs: start/goal pairs
drawn from the training episodes with a seed of their own (``--pair-seed``), never the
evaluation's pairs, so the setting chosen from the curve is not tuned on the table's test
pairs. It records the successes, the median time per plan and the CPU seconds of the whole
evaluation; one JSON line per point is appended to ``--out``. Usage (after a default run)::

    python benchmarks/cem_curve.py --config config/config.yaml --offset 25 --pairs 20 \\
        --grid 300x30 100x10 64x6 32x4 --receding 1 --out benchmarks/cem_curve.jsonl

Time on an idle machine: the load average is printed and recorded beside the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

import yaml

from larc_core import paths
from larc_core.evaluation.pairs import write_pairs
from larc_core.evaluation.run import evaluate
from larc_core.planning import planner_settings


def _cpu_s() -> float:
    """CPU seconds of this process and its finished worker processes."""
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + child.ru_utime + child.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="config/config.yaml")
    ap.add_argument("--offset", type=int, default=25)
    ap.add_argument("--pairs", type=int, default=20, help="tuning pairs (training episodes)")
    ap.add_argument("--pair-seed", type=int, default=1001,
                    help="seed of the tuning pairs (not the evaluation's eval.seed)")
    ap.add_argument("--grid", nargs="+", default=["300x30", "100x10", "64x6", "32x4"],
                    help="samples x iterations points")
    ap.add_argument("--receding", type=int, default=5, help="blocks executed per plan")
    ap.add_argument("--top-k-fraction", type=float, default=0.1)
    ap.add_argument("--workers", type=int, default=1, help="evaluation worker processes")
    ap.add_argument("--out", default="benchmarks/cem_curve.jsonl")
    ap.add_argument("--tmp", default="/tmp/larc_cem_curve")
    args = ap.parse_args()
    cfg = yaml.safe_load(Path(args.config).read_text())
    Path(args.tmp).mkdir(parents=True, exist_ok=True)
    pairs = f"{args.tmp}/tuning_pairs_h{args.offset}.json"
    write_pairs(paths.DEMOS, args.offset, args.pairs, args.pair_seed, pairs, split="train")
    for point in args.grid:
        samples, iterations = (int(v) for v in point.split("x"))
        section = dict(cfg["planner"], samples=samples, iterations=iterations,
                       top_k=max(2, round(args.top_k_fraction * samples)),
                       receding={"row": args.receding})
        settings = planner_settings(section, "row")
        load0 = os.getloadavg()[0]
        cpu0, t0 = _cpu_s(), time.perf_counter()
        res = evaluate(
            "cem_commit5" if args.receding == 5 else "cem_replan1",
            demo_path=paths.DEMOS, pairs_path=pairs,
            out_path=f"{args.tmp}/cem_{point}_r{args.receding}_h{args.offset}.json",
            world_model_path=paths.WORLD_MODEL, planner=settings, latency_warmup=1,
            latency_calls=5, seed=int(cfg["eval"]["seed"]), workers=args.workers,
            progress=False,
        )
        wall, cpu = time.perf_counter() - t0, _cpu_s() - cpu0
        plans = sum(int(e["controller"]["plans"]) for e in res["episodes"])
        row = {
            "samples": samples, "iterations": iterations, "top_k": settings["top_k"],
            "horizon": settings["horizon"], "receding": args.receding, "offset": args.offset,
            "pairs": res["n_episodes"], "pairs_split": "train", "pair_seed": args.pair_seed,
            "successes": res["successes"],
            "plan_median_ms": res["latency"]["policy_forward"]["median_ms"],
            "plans": plans, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "cpu_s_per_plan": round(cpu / max(plans, 1), 4),
            "load_before": round(load0, 2), "load_after": round(os.getloadavg()[0], 2),
        }
        print(json.dumps(row), flush=True)
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
