"""Evaluate one method at one goal offset: the body of the ``eval`` rule."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from larc_core.data import DemoFile
from larc_core.envs import PushTEnv
from larc_core.evaluation.build import (
    ControllerSpec,
    build_controller,
    controller_from_spec,
    torch_threads,
)
from larc_core.evaluation.latency import decision_latency
from larc_core.evaluation.pairs import load_pairs
from larc_core.evaluation.protocol import SUCCESS_DEFINITION
from larc_core.evaluation.rollout import (
    MIN_PAIRS_PER_WORKER,
    run_episodes,
    run_episodes_parallel,
    worker_count,
)
from larc_core.io import atomic_write_json, sha256_file
from larc_core.logs import get_logger
from larc_core.methods import get_method
from larc_core.seeding import resolve_device, seed_everything

# Built elsewhere, still importable from here (``larc_core.stages`` and older callers do).
__all__ = [
    "ControllerSpec",
    "build_controller",
    "controller_from_spec",
    "evaluate",
    "load_pairs",
    "torch_threads",
]

log = get_logger("eval")


def evaluate(
    method_key: str,
    *,
    demo_path: str | Path,
    pairs_path: str | Path,
    out_path: str | Path,
    world_model_path: str | Path | None = None,
    checkpoint_dir: str | Path | None = None,
    execute_chunk_size: int = 1,
    planner: dict[str, Any] | None = None,
    latency_warmup: int = 20,
    latency_calls: int = 200,
    device: str = "cpu",
    seed: int = 0,
    policy_seed: int | None = None,
    workers: int = 1,
    min_pairs_per_worker: int = MIN_PAIRS_PER_WORKER,
    max_pairs: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run every pair of ``pairs_path`` with one method and write the result JSON atomically.

    LARC methods need ``world_model_path`` and ``checkpoint_dir``; planner rows need
    ``world_model_path`` and ``planner`` (CEM settings with ``receding``); the sanity rows
    (``noop``, ``replay``) run on the recorded data alone and have no latency. ``policy_seed``
    (the training seed of the checkpoint) is recorded so the table can aggregate over seeds.

    Episodes run over ``workers`` processes (at most one per CPU core and one per
    ``min_pairs_per_worker`` pairs, so tiny runs do not pay for starting workers); every
    process, this one included, runs torch with one thread, so the records are identical for
    any worker count. The result also records the throughput (env steps per second).
    ``max_pairs`` keeps only the first pairs of the file (the CEM rows on CPU: a plan costs
    seconds); the result records the file's hash, so it still pairs with the other rows.
    """
    method = get_method(method_key)
    dev = resolve_device(device)
    seed_everything(seed)
    doc = load_pairs(pairs_path, demo_path)
    pairs, offset, budget = doc["pairs"], int(doc["offset"]), int(doc["budget"])
    if max_pairs is not None:
        pairs = pairs[: int(max_pairs)]
    with DemoFile(demo_path) as demo:
        goal_frames = demo.frames(np.array([p["goal_row"] for p in pairs]))
        resolution = demo.resolution

    spec = ControllerSpec(
        method=method_key, offset=offset, resolution=resolution, demo_path=str(demo_path),
        world_model_path=None if world_model_path is None else str(world_model_path),
        checkpoint_dir=None if checkpoint_dir is None else str(checkpoint_dir),
        execute_chunk_size=execute_chunk_size, planner=planner, seed=seed, device=device,
    )
    n_workers = worker_count(workers, len(pairs), min_pairs_per_worker)
    latency = None
    with torch_threads(1):
        controller, provenance = build_controller(spec)
        t0 = time.perf_counter()
        desc = f"{method_key} h{offset}"
        if n_workers > 1:
            records = run_episodes_parallel(
                controller_from_spec, spec, resolution, pairs, goal_frames, budget, n_workers,
                seed=seed, desc=desc, progress=progress,
            )
        else:
            with PushTEnv(resolution=resolution) as env:
                records = run_episodes(env, controller, pairs, goal_frames, budget, desc,
                                       progress)
        wall = time.perf_counter() - t0
        if method.learned or method.planned:
            with PushTEnv(resolution=resolution) as env:
                latency = decision_latency(
                    controller, env, pairs[0], goal_frames[0], latency_warmup, latency_calls, dev
                )
    successes = sum(r["success"] for r in records)
    env_steps = sum(int(r["steps"]) for r in records)
    result = {
        "method": method_key,
        "label": method.label,
        "seed": policy_seed,
        "offset": offset,
        "budget": budget,
        "n_episodes": len(records),
        "pairs_in_file": len(doc["pairs"]),  # the first n_episodes of them were run
        "successes": successes,
        "success_rate": successes / len(records),
        "success_definition": SUCCESS_DEFINITION,
        "execute_chunk_size": execute_chunk_size,
        "pairs_file": str(pairs_path),
        "pairs_sha256": sha256_file(pairs_path),
        "median_block_displacement": doc.get("median_block_displacement"),
        **provenance,
        "latency": latency,
        "throughput": {
            "workers": n_workers, "wall_s": wall, "env_steps": env_steps,
            "env_steps_per_s": env_steps / wall if wall > 0 else None,
        },
        "episodes": records,
    }
    log.info(
        "%s h%d: %d/%d successes (%.1f%%), %d env steps in %.1f s with %d worker(s)%s",
        method_key, offset, successes, len(records), 100 * result["success_rate"], env_steps,
        wall, n_workers,
        f", decision median {latency['policy_forward']['median_ms']:.3f} ms"
        if latency else "",
    )
    atomic_write_json(out_path, result)
    return result
