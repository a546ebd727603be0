"""Evaluate one method at one goal offset: the body of the ``eval`` rule."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from larc_core.data import DemoFile
from larc_core.envs import PushTEnv
from larc_core.evaluation.controller import (
    LatentPolicyController,
    NoOpController,
    ReplayController,
)
from larc_core.evaluation.latency import decision_latency
from larc_core.evaluation.protocol import SUCCESS_DEFINITION
from larc_core.evaluation.rollout import (
    MIN_PAIRS_PER_WORKER,
    Controller,
    run_episodes,
    run_episodes_parallel,
    worker_count,
)
from larc_core.io import ArtifactError, atomic_write_json, sha256_file
from larc_core.logs import get_logger
from larc_core.methods import get_method
from larc_core.policies.checkpoint import BACKBONE_FILE, STATS_FILE, load_policy
from larc_core.seeding import resolve_device, seed_everything
from larc_core.world_model import load_world_model

log = get_logger("eval")


def load_pairs(path: str | Path) -> dict[str, Any]:
    """Read a pairs file written by the ``eval_pairs`` rule."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"pairs file {path} could not be read: {exc}") from exc
    if not {"offset", "budget", "pairs"} <= set(doc):
        raise ArtifactError(f"pairs file {path} lacks offset/budget/pairs")
    return doc


@dataclass(frozen=True)
class ControllerSpec:
    """Everything that builds one method's controller: small and picklable, so every evaluation
    worker process builds its own controller from it (:func:`build_controller`)."""

    method: str
    """Method key (``larc_core.methods.METHODS``)."""
    offset: int
    """Goal offset of the pairs (env steps from start to goal frame)."""
    resolution: int
    """Frame side of the demonstrations (checked against the world model's input size)."""
    demo_path: str | None = None
    """Demonstration file (Replay reads its recorded actions)."""
    world_model_path: str | None = None
    """Frozen world model (LARC policies and the planner)."""
    checkpoint_dir: str | None = None
    """Policy checkpoint folder (trained methods)."""
    execute_chunk_size: int = 1
    """Actions executed per policy query (trained methods)."""
    planner: dict[str, Any] | None = None
    """``larc_core.planning.CEMConfig`` fields, ``receding`` included (planner rows)."""
    seed: int = 0
    """Evaluation seed (the planner's candidate draws are seeded from it per episode)."""
    device: str = "cpu"
    """Torch device name (``cpu``, ``cuda``, ``auto``)."""


def _policy_controller(
    world_model_path: str | Path, checkpoint_dir: str | Path, resolution: int,
    execute_chunk_size: int, dev: torch.device, goal_offset: int | None = None,
) -> tuple[LatentPolicyController, dict[str, Any]]:
    """Frozen world model + policy checkpoint, checked against each other and the data.

    ``goal_offset`` (env steps from start to goal frame) tells horizon policies (GC-IDM) how many
    steps are left; the other policies ignore it."""
    wm_sha = sha256_file(world_model_path)
    world_model = load_world_model(world_model_path, device=dev)
    if resolution != world_model.cfg.image_size:
        raise ArtifactError(
            f"the demonstrations hold {resolution}-px frames but the world model "
            f"{world_model_path} expects {world_model.cfg.image_size}-px input"
        )
    backbone = Path(checkpoint_dir) / BACKBONE_FILE
    policy, stats, meta = load_policy(
        backbone,
        Path(checkpoint_dir) / STATS_FILE,
        expected_world_model_sha256=wm_sha,
        expected_latent_dim=world_model.cfg.latent_dim,
    )
    policy.to(dev)
    controller = LatentPolicyController(
        world_model, policy, stats, execute_chunk_size, dev, goal_offset=goal_offset
    )
    provenance = {
        "world_model_sha256": wm_sha, "policy_sha256": sha256_file(backbone), "policy_meta": meta,
    }
    return controller, provenance


def _planner_controller(spec: ControllerSpec, dev: torch.device) -> tuple[Controller, dict]:
    """CEM on the frozen world model; no training, so no policy checkpoint."""
    from larc_core.planning import CEMConfig, CEMController

    if spec.world_model_path is None or spec.planner is None:
        raise ValueError(f"method {spec.method} needs world_model_path and planner settings")
    wm_sha = sha256_file(spec.world_model_path)
    world_model = load_world_model(spec.world_model_path, device=dev)
    if spec.resolution != world_model.cfg.image_size:
        raise ArtifactError(
            f"the demonstrations hold {spec.resolution}-px frames but the world model "
            f"{spec.world_model_path} expects {world_model.cfg.image_size}-px input"
        )
    cfg = CEMConfig.from_dict(spec.planner)
    controller = CEMController(world_model, cfg, spec.seed, dev)
    return controller, {"world_model_sha256": wm_sha, "planner": cfg.to_dict()}


def build_controller(spec: ControllerSpec) -> tuple[Controller, dict[str, Any]]:
    """The controller of ``spec.method`` and its provenance (checkpoint hashes, settings).

    The one place where a method becomes a controller: the sequential evaluation, every
    parallel evaluation worker and the latency benchmark all call it.
    """
    method = get_method(spec.method)
    dev = resolve_device(spec.device)
    if method.learned:
        if spec.world_model_path is None or spec.checkpoint_dir is None:
            raise ValueError(f"method {spec.method} needs world_model_path and checkpoint_dir")
        return _policy_controller(
            spec.world_model_path, spec.checkpoint_dir, spec.resolution,
            spec.execute_chunk_size, dev, spec.offset,
        )
    if method.planned:
        return _planner_controller(spec, dev)
    if spec.method == "noop":
        return NoOpController(), {}
    if spec.demo_path is None:
        raise ValueError(f"method {spec.method} replays recorded actions: it needs demo_path")
    with DemoFile(spec.demo_path) as demo:
        actions, states = np.asarray(demo.action), np.asarray(demo.state)
    return ReplayController(actions, spec.offset, states), {}


def controller_from_spec(spec: ControllerSpec) -> Controller:
    """:func:`build_controller` without the provenance (what evaluation workers call)."""
    return build_controller(spec)[0]


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run a block with ``n`` torch intra-op threads, then restore the previous count."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


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
    doc = load_pairs(pairs_path)
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
