"""LARC-Chunk: (z_t, z_goal) -> a_t .. a_{t+K-1}."""

from __future__ import annotations

import torch

from larc_core.policies.base import LatentPolicy, goal_features, mlp
from larc_core.policies.chunk.config import ChunkConfig


class ChunkPolicy(LatentPolicy):
    """A chunk of K normalised actions from the current and goal latents."""

    config_class = ChunkConfig

    def __init__(self, cfg: ChunkConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.chunk_len = cfg.chunk_len
        self.action_dim = cfg.action_dim
        self.net = mlp(
            3 * cfg.latent_dim, cfg.hidden_dim, cfg.chunk_len * cfg.action_dim, cfg.depth, cfg.dropout
        )

    def forward(self, z: torch.Tensor, z_goal: torch.Tensor) -> torch.Tensor:
        """(B, D), (B, D) -> (B, K, A) normalised actions."""
        return self.net(goal_features(z, z_goal)).view(-1, self.chunk_len, self.action_dim)


POLICY = ChunkPolicy
"""The class the registry builds for backbone ``chunk`` (``larc_core.policies.policy_class``)."""
