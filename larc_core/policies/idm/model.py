"""LARC-IDM: (z_t, z_goal) -> a_t."""

from __future__ import annotations

import torch

from larc_core.policies.base import LatentPolicy, goal_features, mlp
from larc_core.policies.idm.config import IDMConfig


class IDMPolicy(LatentPolicy):
    """One normalised action from the current and goal latents (chunk length 1)."""

    config_class = IDMConfig

    def __init__(self, cfg: IDMConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.chunk_len = 1
        self.action_dim = cfg.action_dim
        self.net = mlp(3 * cfg.latent_dim, cfg.hidden_dim, cfg.action_dim, cfg.depth, cfg.dropout)

    def forward(self, z: torch.Tensor, z_goal: torch.Tensor) -> torch.Tensor:
        """(B, D), (B, D) -> (B, 1, A) normalised actions."""
        return self.net(goal_features(z, z_goal)).unsqueeze(1)


POLICY = IDMPolicy
"""The class the registry builds for backbone ``idm`` (``larc_core.policies.policy_class``)."""
