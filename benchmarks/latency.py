"""Batch-1 decision latency of every method on CPU, and evaluation throughput (env steps/s).

The ``latency`` rule writes ``results/latency.md`` from the workflow's trained artifacts; this
script prints the same measurements, and can run without any artifact::

    # default-scale world model and policies with random weights (cost does not depend on the
    # weights): time per decision, control step and per env step; CEM-to-LARC ratios
    python benchmarks/latency.py --random-weights --config config/config.yaml

    # the workflow's artifacts (run from the workflow root after `snakemake results/table.md`)
    python benchmarks/latency.py --config config/config.yaml

    # evaluation throughput, sequential against parallel workers, on real pairs
    python benchmarks/latency.py --random-weights --throughput larc_idm cem_commit5 \\
        --demos data/pusht_expert_train.h5 --pairs results/eval/pairs_h25.json --workers 2

Every timing runs one torch thread in one process (the evaluation workers likewise); the load
average is printed with the numbers because a busy machine inflates all of them.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from larc_core import paths
from larc_core.config import load_config
from larc_core.envs import PushTEnv
from larc_core.evaluation.build import ControllerSpec
from larc_core.evaluation.latency import benchmark_methods, benchmark_specs, load_state
from larc_core.evaluation.run import evaluate
from larc_core.io import sha256_file
from larc_core.methods import get_method
from larc_core.planning import planner_settings
from larc_core.policies import ActionStats, make_policy
from larc_core.policies.checkpoint import save_policy
from larc_core.reporting.latency import ratios, render_latency
from larc_core.world_model import WorldModel, WorldModelConfig, save_world_model


def random_artifacts(config: dict, folder: Path) -> tuple[str, dict[str, str]]:
    """A world model of the config's architecture and a checkpoint of every evaluated policy,
    all with random weights, saved in ``folder``: (world model path, method -> checkpoint dir)."""
    torch.manual_seed(0)
    wm = WorldModel(WorldModelConfig.from_dict(config["world_model"]["model"]))
    wm.set_action_stats(np.zeros(2), np.full(2, 0.3))
    wm_path = folder / "world_model.pt"
    save_world_model(wm.freeze(), wm_path)
    sha = sha256_file(wm_path)
    stats = ActionStats(torch.zeros(2), torch.full((2,), 0.3))
    dirs = {}
    for key in config["eval"]["methods"]:
        m = get_method(key)
        if not m.learned:
            continue
        section = config["policy"][m.backbone]  # architecture (WM-FT: the Chunk's)
        policy = make_policy(m.backbone, latent_dim=wm.cfg.latent_dim, **section)
        dirs[key] = str(folder / key)
        save_policy(policy, m.backbone, stats, dirs[key], {"world_model_sha256": sha})
    return str(wm_path), dirs


def policy_dir(config: dict, key: str, dirs: dict[str, str]) -> str | None:
    """Checkpoint folder of a learned method: the random-weights one if made, else seed 0's."""
    m = get_method(key)
    if not m.learned:
        return None
    return dirs.get(key) or m.checkpoint_dir(config["seeds"][0])


def specs_for(config: dict, methods: list[str], wm_path: str, dirs: dict[str, str],
              resolution: int, offset: int, demos: str | None) -> dict[str, ControllerSpec]:
    e = config["eval"]
    out = {}
    for key in methods:
        m = get_method(key)
        if not (m.learned or m.planned):
            continue
        out[key] = ControllerSpec(
            method=key, offset=offset, resolution=resolution, demo_path=demos,
            world_model_path=wm_path,
            checkpoint_dir=policy_dir(config, key, dirs),
            execute_chunk_size=e["execute_chunk_size"],
            planner=planner_settings(config.get("planner"), key) if m.planned else None,
            seed=int(e["seed"]), device=config["device"],
        )
    return out


def throughput(config: dict, methods: list[str], wm_path: str, dirs: dict[str, str],
               demos: str, pairs: str, workers: list[int], out_dir: Path) -> None:
    """Evaluate each method on ``pairs`` once per worker count; print env steps per second and
    check that the records are identical."""
    e, p = config["eval"], config.get("planner") or {}
    print(f"\nEvaluation throughput on {pairs} (load average {load_state()['load_1min']:.1f})")
    print("| method | workers | episodes | env steps | wall s | env steps/s | same records |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for key in methods:
        m = get_method(key)
        first = None
        for w in workers:
            res = evaluate(
                key, demo_path=demos, pairs_path=pairs, out_path=out_dir / f"{key}_w{w}.json",
                world_model_path=wm_path if (m.learned or m.planned) else None,
                checkpoint_dir=policy_dir(config, key, dirs),
                execute_chunk_size=e["execute_chunk_size"],
                planner=planner_settings(p, key) if m.planned else None,
                latency_warmup=0, latency_calls=1, seed=int(e["seed"]), workers=w,
                progress=False,
            )
            t = res["throughput"]
            same = "-" if first is None else str(res["episodes"] == first)
            first = first or res["episodes"]
            print(f"| {key} | {t['workers']} | {len(res['episodes'])} | {t['env_steps']} | "
                  f"{t['wall_s']:.1f} | {t['env_steps_per_s']:.1f} | {same} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="config/config.yaml")
    ap.add_argument("--random-weights", action="store_true",
                    help="time models of the config's architecture with random weights")
    ap.add_argument("--methods", nargs="+", default=None,
                    help="methods to time (default: every evaluated one that decides)")
    ap.add_argument("--demos", default=None, help="demonstrations (start frame, goal image)")
    ap.add_argument("--pairs", default=None, help="pairs file (default: first eval offset)")
    ap.add_argument("--calls", type=int, default=None, help="override latency.calls")
    ap.add_argument("--plan-calls", type=int, default=None, help="override latency.plan_calls")
    ap.add_argument("--throughput", nargs="*", default=None, metavar="METHOD",
                    help="also evaluate these methods on --pairs sequentially and in parallel")
    ap.add_argument("--workers", type=int, default=2, help="parallel workers for --throughput")
    ap.add_argument("--json", default=None, help="write the raw timings here")
    args = ap.parse_args(argv)

    config = load_config(args.config)
    lat = config.get("latency") or {}
    calls = args.calls or lat.get("calls", 1000)
    plan_calls = args.plan_calls or lat.get("plan_calls", 20)
    methods = args.methods or config["eval"]["methods"]
    pairs = args.pairs or paths.PAIRS.format(offset=config["eval"]["offsets"][0])
    demos = args.demos or (paths.DEMOS if Path(paths.DEMOS).exists() else None)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.random_weights:
            wm_path, dirs = random_artifacts(config, tmp)
        else:
            wm_path, dirs = paths.WORLD_MODEL, {}
        if demos and Path(pairs).exists():
            doc = json.loads(Path(pairs).read_text())
            from larc_core.data import DemoFile

            with DemoFile(demos) as demo:
                resolution = demo.resolution
            specs = specs_for(config, methods, wm_path, dirs, resolution, int(doc["offset"]),
                              demos)
            bench = benchmark_methods(specs, demos, pairs, lat.get("warmup", 50), calls,
                                      lat.get("plan_warmup", 2), plan_calls)
        else:  # no data: a random start state and the frame of another one as the goal
            resolution = config["data"]["resolution"]
            offset = int(config["eval"]["offsets"][0])
            specs = specs_for(config, methods, wm_path, dirs, resolution, offset, None)
            with PushTEnv(resolution=resolution) as env:
                env.reset_random(1)
                goal = env.render()
                start = env.reset_random(0)
            pair = {"start_state": [float(x) for x in start], "start_row": 0}
            bench = benchmark_specs(specs, pair, goal, resolution, lat.get("warmup", 50), calls,
                                    lat.get("plan_warmup", 2), plan_calls)
        bench["weights"] = "random" if args.random_weights else "trained"
        bench["world_model"] = {
            k: v for k, v in WorldModelConfig.from_dict(
                config["world_model"]["model"]).to_dict().items()
            if k in ("encoder", "image_size", "latent_dim", "depth", "history", "frameskip")
        }
        print(render_latency(bench))
        print("world model:", bench["world_model"], "| weights:", bench["weights"])
        for key, m in bench["methods"].items():
            print(f"{key}: {m['wall_s']:.1f} s to benchmark")
        if args.json:
            Path(args.json).write_text(json.dumps({**bench, "ratios": ratios(bench)}, indent=2))
        if args.throughput is not None:
            if not demos or not Path(pairs).exists():
                print("--throughput needs --demos and --pairs", file=sys.stderr)
                return 2
            throughput(config, args.throughput or methods, wm_path, dirs, demos, pairs,
                       [1, args.workers], tmp)
    return 0


if __name__ == "__main__":
    t0 = time.perf_counter()
    code = main()
    print(f"total {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    sys.exit(code)
