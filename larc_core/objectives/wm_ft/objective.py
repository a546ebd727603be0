"""WM-FT: the Chunk policy fine-tuned so that its chunk, rolled through the frozen predictor,
lands on the recorded future latent (behaviour cloning keeps it near the demonstrations)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from larc_core.engine.sampler import GoalBatch, HindsightSampler
from larc_core.losses import bc_loss, imagine_chunks, rollout_consistency_loss, smoothness_loss
from larc_core.methods import Stage
from larc_core.objectives.base import TrainData
from larc_core.objectives.bc.objective import BehaviourCloning
from larc_core.objectives.wm_ft.config import SPEC, WMFTConfig


class RolloutConsistency(BehaviourCloning):
    """Loss ``bc_weight * bc + smooth_weight * smooth + consistency_weight * wm``, ``wm`` the
    squared error between the imagined latents (``rollout_chunks`` chunks) and the recorded ones
    (``target``: at the end of every chunk, or after every action block)."""

    spec = SPEC
    needs_world_model = True

    def __init__(self, stage: Stage, cfg: WMFTConfig, data: TrainData, *,
                 model_cfg: dict[str, Any], init: Any = None, uses: dict[str, Path] | None = None,
                 device: torch.device | str = "cpu") -> None:
        if data.world_model is None:
            raise ValueError(f"{stage.name} needs the world model (rollout-consistency loss)")
        if init is None:
            raise ValueError(f"{stage.name} needs init (the {stage.init_from} policy it "
                             f"fine-tunes)")
        self.frameskip = data.world_model.cfg.frameskip
        k = init[0].chunk_len
        if k % self.frameskip:
            raise ValueError(f"{stage.name} needs chunk_len ({k}) to be a multiple of frameskip "
                             f"({self.frameskip}) for its world-model rollouts")
        super().__init__(stage, cfg, data, model_cfg=model_cfg, init=init, uses=uses,
                         device=device)

    def make_sampler(self, episodes: np.ndarray) -> HindsightSampler:
        """Every start also has the recorded path its rollout is matched to."""
        d, k = self.data, self.policy.chunk_len
        stride = self.frameskip if self.cfg.target == "path" else k
        return HindsightSampler(d.latents, d.actions, d.ep_offset, d.ep_len, episodes, k,
                                d.goal_offset_min, d.goal_offset_max,
                                horizon=self.cfg.rollout_chunks * k, stride=stride)

    def losses(self, batch: GoalBatch) -> dict[str, torch.Tensor]:
        cfg, dev, stats = self.cfg, self.device, self.stats
        z, zg = batch.z.to(dev), batch.z_goal.to(dev)
        pred = self.predict(batch)
        target = stats.normalize(batch.actions.to(dev))
        out = {"bc": bc_loss(pred, target), "smooth": smoothness_loss(pred)}
        total = cfg.bc_weight * out["bc"] + cfg.smooth_weight * out["smooth"]
        wm, k = self.data.world_model, self.policy.chunk_len
        if cfg.rollout_chunks == 1 and cfg.target == "future":
            out["wm"] = rollout_consistency_loss(wm, z, stats.denormalize(pred),
                                                 batch.z_future.to(dev), self.frameskip)
        else:
            offsets = batch.offsets.to(dev)

            def act(z_now: torch.Tensor, j: int) -> torch.Tensor:
                h = (offsets - j * k).clamp(min=1)
                return stats.denormalize(self.policy.predict(z_now, zg, h))

            imagined = imagine_chunks(wm, act, z, stats.denormalize(pred), cfg.rollout_chunks,
                                      self.frameskip)
            if cfg.target == "future":  # the latent at the end of every chunk
                per_chunk = k // self.frameskip
                imagined = imagined[:, per_chunk - 1::per_chunk]
            out["wm"] = torch.nn.functional.mse_loss(imagined, batch.z_path.to(dev))
        out["total"] = total + cfg.consistency_weight * out["wm"]
        return out


OBJECTIVE = RolloutConsistency
"""The class that trains a stage of this objective (``larc_core.objectives.objective_class``)."""
