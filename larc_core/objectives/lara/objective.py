"""LARA: latent action representation alignment. LARC-Chunk's behaviour cloning, plus the
policy's hidden features (one layer, through a linear projection) aligned by cosine to the
latent action the latent action model infers for the same window (z_t, z_t+K), the latent action
model refined jointly by its own loss (gradients of the alignment reach it too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from larc_core.engine.sampler import GoalBatch
from larc_core.io import atomic_torch_save
from larc_core.methods import Stage
from larc_core.objectives.base import TrainData
from larc_core.objectives.bc.objective import BehaviourCloning
from larc_core.objectives.lam.model import used_latent_action_model
from larc_core.objectives.lara.config import HEADS_FILE, SPEC, LARAConfig
from larc_core.objectives.lara.features import LayerOutput


class LatentActionAlignment(BehaviourCloning):
    """Loss ``bc + smooth_weight * smooth + align_weight * align + lam_weight * lam``."""

    spec = SPEC

    def __init__(self, stage: Stage, cfg: LARAConfig, data: TrainData, *,
                 model_cfg: dict[str, Any], init: Any = None, uses: dict[str, Path] | None = None,
                 device: torch.device | str = "cpu") -> None:
        super().__init__(stage, cfg, data, model_cfg=model_cfg, init=init, uses=uses,
                         device=device)
        self.lam, meta = used_latent_action_model(stage.name, uses)
        if int(meta["horizon"]) != self.policy.chunk_len:
            raise ValueError(f"{stage.name}: the latent action model's horizon "
                             f"({meta['horizon']}) must be the policy's chunk length "
                             f"({self.policy.chunk_len}): both describe the next chunk")
        self.features = LayerOutput(self.policy, cfg.layer)
        latent = self.lam.cfg.n_codes * self.lam.cfg.code_dim
        self.proj = torch.nn.Linear(self.features.width, latent)
        self.lam.train()
        self.module = torch.nn.ModuleDict(
            {"policy": self.policy, "lam": self.lam, "proj": self.proj}).to(self.device)

    def losses(self, batch: GoalBatch) -> dict[str, torch.Tensor]:
        out = super().losses(batch)  # runs the policy: the hook holds its features
        z, z_next = batch.z.to(self.device), batch.z_future.to(self.device)
        lam = self.lam(z, z_next)
        recon = F.mse_loss(lam["pred"], z_next)
        lam_loss = recon + lam["codebook"] + self.cfg.lam_commitment * lam["commit"]
        target = lam["continuous"].flatten(1)  # not detached: alignment also shapes the model
        align = 1 - F.cosine_similarity(self.proj(self.features.value), target, dim=-1).mean()
        out.update(align=align, lam=lam_loss)
        out["total"] = (out["total"] + self.cfg.align_weight * align
                        + self.cfg.lam_weight * lam_loss)
        return out

    def save(self, out_dir: Path, meta: dict[str, Any]) -> None:
        self.lam.cpu()
        self.proj.cpu()
        atomic_torch_save({"layer": self.cfg.layer, "proj": self.proj.state_dict(),
                           "lam": self.lam.state_dict(), "lam_config": self.lam.cfg.to_dict()},
                          Path(out_dir) / HEADS_FILE)
        super().save(out_dir, meta)


OBJECTIVE = LatentActionAlignment
"""The class that trains a stage of this objective (``larc_core.objectives.objective_class``)."""
