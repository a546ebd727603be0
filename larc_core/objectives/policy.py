"""The base of every objective that trains a goal-conditioned policy: it builds the stage's
backbone (or starts from an initial policy checkpoint), fits the action statistics on the training
episodes, and writes the published policy layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from larc_core.io import ArtifactError
from larc_core.methods import Stage
from larc_core.objectives.base import Objective, TrainData
from larc_core.objectives.config import ObjectiveConfig
from larc_core.policies import make_policy
from larc_core.policies.base import ActionStats, LatentPolicy
from larc_core.policies.checkpoint import BACKBONE_FILE, load_policy, save_policy


class PolicyObjective(Objective):
    """Trains ``self.policy`` (with its :class:`ActionStats` ``self.stats``)."""

    policy: LatentPolicy
    stats: ActionStats

    def __init__(self, stage: Stage, cfg: ObjectiveConfig, data: TrainData, *,
                 model_cfg: dict[str, Any], init: tuple[LatentPolicy, ActionStats] | None = None,
                 uses: dict[str, Path] | None = None,
                 device: torch.device | str = "cpu") -> None:
        self.stage, self.cfg, self.data = stage, cfg, data
        self.device = torch.device(device)
        if init is not None:
            self.policy, self.stats = init
        else:
            actions = torch.as_tensor(np.asarray(data.actions)[data.train_rows()])
            self.stats = ActionStats.from_actions(actions)
            self.policy = make_policy(stage.backbone, latent_dim=data.latents.shape[1],
                                      **model_cfg)
        self.policy.to(self.device)
        self.module = self.policy

    @classmethod
    def load_init(cls, folder: Path, *, world_model_sha256: str, latent_dim: int,
                  demo_fingerprint: str, init_rule: str) -> tuple[LatentPolicy, ActionStats]:
        path = Path(folder) / BACKBONE_FILE
        policy, stats, meta = load_policy(path, expected_world_model_sha256=world_model_sha256,
                                          expected_latent_dim=latent_dim)
        # A checkpoint this project trained records its demonstrations (a published one does
        # not): it must have been trained on these.
        recorded = meta.get("demo_fingerprint")
        if recorded is not None and recorded != demo_fingerprint:
            raise ArtifactError(
                f"{path} was trained on other demonstrations (content fingerprint "
                f"{recorded[:12]}) than this run's ({demo_fingerprint[:12]}); rerun {init_rule}")
        return policy, stats

    def identity(self) -> dict[str, Any]:
        return {"policy": self.policy.cfg.to_dict()}

    def save(self, out_dir: Path, meta: dict[str, Any]) -> None:
        self.policy.cpu()
        save_policy(self.policy, self.stage.backbone, self.stats, out_dir, meta)
