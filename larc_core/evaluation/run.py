"""Evaluate one method at one goal offset: the body of the ``eval`` rule."""

from __future__ import annotations

import json
import platform
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
from larc_core.evaluation.latency import time_calls
from larc_core.evaluation.protocol import SUCCESS_DEFINITION
from larc_core.evaluation.rollout import run_episodes
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


def _policy_controller(
    world_model_path: str | Path, checkpoint_dir: str | Path, resolution: int,
    execute_chunk_size: int, dev: torch.device,
) -> tuple[LatentPolicyController, dict[str, Any]]:
    """Frozen world model + policy checkpoint, checked against each other and the data."""
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
    controller = LatentPolicyController(world_model, policy, stats, execute_chunk_size, dev)
    provenance = {
        "world_model_sha256": wm_sha, "policy_sha256": sha256_file(backbone), "policy_meta": meta,
    }
    return controller, provenance


def _latency(
    controller: LatentPolicyController, env: PushTEnv, pair: dict, goal_frame: np.ndarray,
    warmup: int, calls: int, dev: torch.device,
) -> dict[str, Any]:
    """Batch-1 policy forward and full control step (encode + policy) on a real frame."""
    env.reset_to_state(np.asarray(pair["start_state"]))
    controller.reset(goal_frame, int(pair["start_row"]))
    frame = env.render()
    z = controller.encode(frame)
    return {
        "policy_forward": time_calls(lambda: controller.policy_forward(z), warmup, calls),
        "control_step": time_calls(
            lambda: controller.policy_forward(controller.encode(frame)), warmup, calls
        ),
        "device": str(dev),
        "torch_threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
    }


def evaluate(
    method_key: str,
    *,
    demo_path: str | Path,
    pairs_path: str | Path,
    out_path: str | Path,
    world_model_path: str | Path | None = None,
    checkpoint_dir: str | Path | None = None,
    execute_chunk_size: int = 1,
    latency_warmup: int = 20,
    latency_calls: int = 200,
    device: str = "cpu",
    seed: int = 0,
    policy_seed: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run every pair of ``pairs_path`` with one method and write the result JSON atomically.

    LARC methods need ``world_model_path`` and ``checkpoint_dir``; the sanity rows (``noop``,
    ``replay``) run on the recorded data alone and have no latency. ``policy_seed`` (the
    training seed of the checkpoint) is recorded so the table can aggregate over seeds.
    """
    method = get_method(method_key)
    dev = resolve_device(device)
    seed_everything(seed)
    doc = load_pairs(pairs_path)
    pairs, offset, budget = doc["pairs"], int(doc["offset"]), int(doc["budget"])
    with DemoFile(demo_path) as demo:
        goal_frames = demo.frames(np.array([p["goal_row"] for p in pairs]))
        resolution = demo.resolution
        actions = np.asarray(demo.action)

    provenance: dict[str, Any] = {}
    if method.learned:
        if world_model_path is None or checkpoint_dir is None:
            raise ValueError(f"method {method_key} needs world_model_path and checkpoint_dir")
        controller, provenance = _policy_controller(
            world_model_path, checkpoint_dir, resolution, execute_chunk_size, dev
        )
    elif method_key == "noop":
        controller = NoOpController()
    else:
        controller = ReplayController(actions, offset)

    latency = None
    with PushTEnv(resolution=resolution) as env:
        records = run_episodes(
            env, controller, pairs, goal_frames, budget, desc=f"{method_key} h{offset}",
            progress=progress,
        )
        if method.learned:
            latency = _latency(
                controller, env, pairs[0], goal_frames[0], latency_warmup, latency_calls, dev
            )
    successes = sum(r["success"] for r in records)
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
        "episodes": records,
    }
    log.info(
        "%s h%d: %d/%d successes (%.1f%%)%s", method_key, offset, successes, len(records),
        100 * result["success_rate"],
        f", policy forward median {latency['policy_forward']['median_ms']:.3f} ms"
        if latency else "",
    )
    atomic_write_json(out_path, result)
    return result
