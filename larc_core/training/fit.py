"""Fit one training stage on in-memory data: the generic part of every stage.

The objective (``larc_core.objectives``) owns the model, its batches and its losses; this module
seeds the run, builds the objective, draws one fixed validation batch and hands the objective's
modules and loss to the training loop (:func:`larc_core.engine.loop.run_training`). Nothing is
read or written here except the loop's resume state. ``benchmarks/state_policy_ceiling.py`` and
rule ``state_ceiling`` pass true-state features through the same code.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from larc_core.engine.loop import config_hash, run_training
from larc_core.logs import get_logger
from larc_core.methods import get_stage
from larc_core.objectives import Objective, TrainData, stage_objective
from larc_core.seeding import seed_everything

log = get_logger("train.stage")

VAL_BATCH = 1024
"""Examples in the fixed validation draw (validation episodes, seed + 1)."""


@dataclass
class FitResult:
    """A trained objective and what its training recorded."""

    objective: Objective
    """The objective after training (its ``module`` holds the trained weights)."""
    history: list[dict[str, float]]
    """One dict of loss components per step."""
    val: dict[str, float]
    """Loss components on the fixed draw of validation-episode examples, after the last step."""

    @property
    def policy(self):
        """The trained policy (objectives that produce one)."""
        return self.objective.policy

    @property
    def stats(self):
        """The trained policy's action statistics (objectives that produce one)."""
        return self.objective.stats


def fit_stage(
    stage: str,
    data: TrainData,
    *,
    train_cfg: dict[str, Any],
    model_cfg: dict[str, Any],
    seed: int,
    state_path: str | Path,
    identity: dict[str, Any] | None = None,
    init: Any = None,
    uses: dict[str, Path] | None = None,
    device: torch.device | str = "cpu",
    progress: bool = True,
) -> FitResult:
    """Train the registered stage ``stage`` on ``data``.

    Args:
        train_cfg: the objective's block (a partial one gets its config class's defaults).
        model_cfg: the stage's backbone block ({} for a stage that inherits its checkpoint's).
        state_path: resume state file (kept outside the declared outputs).
        identity: what else identifies the run (input hashes), folded into the resume hash.
        init: what the objective's ``load_init`` read from the stage's initial checkpoint.
        uses: stage name -> checkpoint folder of every stage the stage uses.
    """
    st = get_stage(stage)
    cls = stage_objective(st)
    try:
        cfg = cls.spec.config_class.from_dict(train_cfg)
    except ValueError as exc:
        raise ValueError(f"stage {stage}: {exc}") from None
    if cls.spec.init == "required" and init is None:
        raise ValueError(f"{stage} needs init (the {st.init_from} checkpoint it starts from)")
    seed_everything(seed)
    data = dataclasses.replace(
        data, latents=data.latents.float(),
        actions=data.actions if cls.reads_actions else None,
        world_model=data.world_model if cls.needs_world_model else None,
    )
    objective = cls(st, cfg, data, model_cfg=model_cfg, init=init, uses=uses or {},
                    device=device)

    def loss_fn(step: int) -> dict[str, torch.Tensor]:
        return objective.losses(objective.sample("train", cfg.batch_size, seed, step))

    # Held-out losses on one fixed draw of validation-episode examples (the samplers draw from
    # their own seeded generators), every val_every steps and at the end: over-fitting shows.
    val_batch = objective.sample("val", VAL_BATCH, seed + 1, 0)

    def validate() -> dict[str, float]:
        return {n: float(v) for n, v in objective.losses(val_batch).items()}

    run = {
        "stage": stage, **objective.identity(), "train": cfg.to_dict(), "seed": seed,
        "goal": [data.goal_offset_min, data.goal_offset_max], **(identity or {}),
    }
    history = run_training(
        objective.module,
        loss_fn,
        steps=cfg.steps,
        lr=cfg.lr,
        weight_decay=cfg.weight_decay,
        warmup_steps=cfg.warmup_steps,
        grad_clip=cfg.grad_clip,
        state_path=state_path,
        run_hash=config_hash(run),
        checkpoint_every=cfg.checkpoint_every,
        desc=f"train {stage}",
        progress=progress,
        validate=validate,
        val_every=cfg.val_every,
    )
    val = {k.removeprefix("val_"): v for k, v in history[-1].items() if k.startswith("val_")}
    log.info("%s validation losses: %s", stage, val)
    return FitResult(objective=objective, history=history, val=val)
