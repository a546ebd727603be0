"""Behaviour cloning on hindsight-relabelled goals: the policy's (normalised) action chunk for
(z_t, z_goal) regresses onto the recorded one, plus a smoothness penalty on the chunk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from larc_core.engine.sampler import GoalBatch, HindsightSampler
from larc_core.losses import bc_loss, smoothness_loss
from larc_core.methods import Stage
from larc_core.objectives.base import TrainData
from larc_core.objectives.bc.config import SPEC, BCConfig
from larc_core.objectives.policy import PolicyObjective


class BehaviourCloning(PolicyObjective):
    """Loss ``bc_weight * bc + smooth_weight * smooth`` (``bc_weight`` 1 unless a subclass's
    config has one)."""

    spec = SPEC

    def __init__(self, stage: Stage, cfg: BCConfig, data: TrainData, *,
                 model_cfg: dict[str, Any], init: Any = None, uses: dict[str, Path] | None = None,
                 device: torch.device | str = "cpu") -> None:
        super().__init__(stage, cfg, data, model_cfg=model_cfg, init=init, uses=uses,
                         device=device)
        self.samplers = {split: self.make_sampler(episodes) for split, episodes in
                         (("train", data.train_episodes), ("val", data.val_episodes))}

    def make_sampler(self, episodes: np.ndarray) -> HindsightSampler:
        """Goals ``goal_offset_min``..``goal_offset_max`` ahead, the policy's chunk of actions."""
        d = self.data
        return HindsightSampler(d.latents, d.actions, d.ep_offset, d.ep_len, episodes,
                                self.policy.chunk_len, d.goal_offset_min, d.goal_offset_max)

    def sample(self, split: str, batch_size: int, seed: int, step: int) -> GoalBatch:
        return self.samplers[split].sample(batch_size, seed, step)

    def predict(self, batch: GoalBatch) -> torch.Tensor:
        """(B, K, A) normalised chunk for the batch's (z_t, z_goal); a horizon policy (GC-IDM)
        also reads the goal offset h, the others ignore it."""
        dev = self.device
        return self.policy.predict(batch.z.to(dev), batch.z_goal.to(dev), batch.offsets.to(dev))

    def losses(self, batch: GoalBatch) -> dict[str, torch.Tensor]:
        pred = self.predict(batch)
        target = self.stats.normalize(batch.actions.to(self.device))
        out = {"bc": bc_loss(pred, target), "smooth": smoothness_loss(pred)}
        out["total"] = out["bc"] + self.cfg.smooth_weight * out["smooth"]
        return out


OBJECTIVE = BehaviourCloning
"""The class that trains a stage of this objective (``larc_core.objectives.objective_class``)."""
