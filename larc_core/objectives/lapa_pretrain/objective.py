"""LAPA's latent pretraining: behaviour cloning of latent actions. For a hindsight example
(z_t, z_goal) the target is the latent action model's codes for the window (z_t, z_t+K) that
follows; the policy's hidden features predict them through a linear head (cross-entropy per
code). No action label is read; the policy's action head gets no gradient here and is trained by
the fine-tune (objective lapa)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from larc_core.engine.sampler import GoalBatch, HindsightSampler
from larc_core.io import atomic_torch_save
from larc_core.methods import Stage
from larc_core.objectives.base import TrainData
from larc_core.objectives.lam.model import used_latent_action_model
from larc_core.objectives.lapa_pretrain.config import HEAD_FILE, SPEC, LAPAPretrainConfig
from larc_core.objectives.lara.features import LayerOutput
from larc_core.objectives.policy import PolicyObjective
from larc_core.policies import make_policy
from larc_core.policies.base import ActionStats


class LatentPretraining(PolicyObjective):
    """Loss: mean over code slots of the cross-entropy of the head's logits; the log also
    shows the share of slots predicted right (``accuracy``)."""

    spec = SPEC
    reads_actions: ClassVar[bool] = False

    def __init__(self, stage: Stage, cfg: LAPAPretrainConfig, data: TrainData, *,
                 model_cfg: dict[str, Any], init: Any = None, uses: dict[str, Path] | None = None,
                 device: torch.device | str = "cpu") -> None:
        self.stage, self.cfg, self.data = stage, cfg, data
        self.device = torch.device(device)
        self.policy = make_policy(stage.backbone, latent_dim=data.latents.shape[1], **model_cfg)
        # No actions are read: the statistics are the identity until the fine-tune fits them.
        self.stats = ActionStats(torch.zeros(self.policy.action_dim),
                                 torch.ones(self.policy.action_dim))
        self.lam, meta = used_latent_action_model(stage.name, uses)
        # The target spans the model's window (z_t, z_t+K) whatever the policy emits: a chunk
        # of K actions, or one action (LAPA's policies predict a latent for a whole window).
        k = int(meta["horizon"])
        for p in self.lam.parameters():
            p.requires_grad_(False)
        self.features = LayerOutput(self.policy, cfg.layer)
        self.n_codes, self.size = self.lam.cfg.n_codes, self.lam.cfg.codebook_size
        self.head = torch.nn.Linear(self.features.width, self.n_codes * self.size)
        self.module = torch.nn.ModuleDict({"policy": self.policy, "head": self.head}).to(
            self.device)
        self.lam.to(self.device)
        # The sampler's action rows are never read: a zero array stands in for them.
        no_actions = np.zeros((len(data.latents), self.policy.action_dim), np.float32)
        self.samplers = {
            split: HindsightSampler(data.latents, no_actions, data.ep_offset, data.ep_len,
                                    episodes, k, data.goal_offset_min, data.goal_offset_max)
            for split, episodes in (("train", data.train_episodes), ("val", data.val_episodes))
        }

    def sample(self, split: str, batch_size: int, seed: int, step: int) -> GoalBatch:
        return self.samplers[split].sample(batch_size, seed, step)

    def losses(self, batch: GoalBatch) -> dict[str, torch.Tensor]:
        dev = self.device
        z, z_next = batch.z.to(dev), batch.z_future.to(dev)
        with torch.no_grad():
            self.lam.eval()
            codes = self.lam.quantize(self.lam.encode(z, z_next))[1]          # (B, S)
        self.policy.predict(z, batch.z_goal.to(dev), batch.offsets.to(dev))   # fills features
        logits = self.head(self.features.value).view(-1, self.n_codes, self.size)
        ce = F.cross_entropy(logits.reshape(-1, self.size), codes.reshape(-1))
        with torch.no_grad():
            accuracy = (logits.argmax(-1) == codes).float().mean()
        return {"code_ce": ce, "accuracy": accuracy, "total": ce}

    def save(self, out_dir: Path, meta: dict[str, Any]) -> None:
        self.head.cpu()
        atomic_torch_save({"layer": self.cfg.layer, "head": self.head.state_dict()},
                          Path(out_dir) / HEAD_FILE)
        super().save(out_dir, meta)


OBJECTIVE = LatentPretraining
"""The class that trains a stage of this objective (``larc_core.objectives.objective_class``)."""
