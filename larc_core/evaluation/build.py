"""Build one method's controller from a small, picklable spec.

The one place where a method becomes a controller: the sequential evaluation
(:mod:`larc_core.evaluation.run`), every parallel evaluation worker, the latency benchmark
(:mod:`larc_core.evaluation.latency`) and the rollout videos all call :func:`build_controller`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from larc_core.data import DemoFile
from larc_core.evaluation.controller import (
    LatentPolicyController,
    NoOpController,
    ReplayController,
)
from larc_core.evaluation.rollout import Controller
from larc_core.io import ArtifactError, sha256_file
from larc_core.methods import get_method
from larc_core.policies.checkpoint import BACKBONE_FILE, STATS_FILE, load_policy
from larc_core.seeding import resolve_device
from larc_core.world_model import load_world_model


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
