"""GC-IDM: (z_t, z_goal, k) -> a_t, with k the env steps left to reach the goal.

The baseline of a published goal-conditioned IDM on frozen world-model latents that also reads
the remaining horizon. The trunk is the IDM's MLP on (z_t, z_goal, z_goal - z_t); after each
hidden layer's LayerNorm the activations are modulated by a scale and shift computed from an
embedding of k (adaptive LayerNorm, i.e. FiLM on normalised features):

    k -> sinusoidal(k) (horizon_dim) -> Linear -> SiLU -> Linear -> SiLU   = e (horizon_dim)
    h_i = GELU(LN(W_i h_{i-1}) * (1 + scale_i(e)) + shift_i(e))
"""

from __future__ import annotations

import math

import torch
from torch import nn

from larc_core.policies.base import LatentPolicy, goal_features
from larc_core.policies.gc_idm.config import GCIDMConfig


def horizon_embedding(k: torch.Tensor, dim: int, max_period: float) -> torch.Tensor:
    """Sinusoidal features of the remaining steps: (B,) -> (B, dim).

    Frequencies are geometric from 1 to 1 / ``max_period`` rad per step; half the features are
    cosines, half sines (``dim`` must be even).
    """
    half = dim // 2
    freqs = torch.exp(
        -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=k.device) / half
    )
    angles = k.float().unsqueeze(-1) * freqs
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)


class GCIDMPolicy(LatentPolicy):
    """One normalised action from the current latent, the goal latent and the steps left."""

    config_class = GCIDMConfig
    uses_horizon = True

    def __init__(self, cfg: GCIDMConfig) -> None:
        super().__init__()
        if cfg.horizon_dim < 2 or cfg.horizon_dim % 2:
            raise ValueError(f"GC-IDM horizon_dim must be an even number >= 2, got {cfg.horizon_dim}")
        if cfg.horizon_max_period <= 1:
            raise ValueError(
                f"GC-IDM horizon_max_period must be > 1 env step, got {cfg.horizon_max_period}"
            )
        self.cfg = cfg
        self.chunk_len = 1
        self.action_dim = cfg.action_dim
        h = cfg.hidden_dim
        self.horizon_mlp = nn.Sequential(
            nn.Linear(cfg.horizon_dim, cfg.horizon_dim), nn.SiLU(),
            nn.Linear(cfg.horizon_dim, cfg.horizon_dim), nn.SiLU(),
        )
        dims = [3 * cfg.latent_dim] + [h] * cfg.depth
        self.layers = nn.ModuleList(nn.Linear(dims[i], h) for i in range(cfg.depth))
        self.norms = nn.ModuleList(
            nn.LayerNorm(h, elementwise_affine=False) for _ in range(cfg.depth)
        )
        self.modulation = nn.ModuleList(nn.Linear(cfg.horizon_dim, 2 * h) for _ in range(cfg.depth))
        self.dropout = nn.Dropout(cfg.dropout) if cfg.dropout > 0 else nn.Identity()
        self.act_fn = nn.GELU()
        self.head = nn.Linear(h, cfg.action_dim)

    def forward(
        self, z: torch.Tensor, z_goal: torch.Tensor, remaining: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, D), (B, D), remaining steps (B,) -> (B, 1, A) normalised actions.

        ``remaining`` counts env steps (>= 1; a 0-d tensor is broadcast over the batch).
        """
        if remaining is None:
            raise ValueError("GC-IDM needs the remaining steps to the goal (remaining=(B,) tensor)")
        remaining = torch.as_tensor(remaining, device=z.device).reshape(-1)
        if remaining.numel() not in (1, z.shape[0]):
            raise ValueError(
                f"GC-IDM got {remaining.numel()} remaining-step values for a batch of {z.shape[0]}"
            )
        remaining = remaining.expand(z.shape[0])
        e = self.horizon_mlp(
            horizon_embedding(remaining, self.cfg.horizon_dim, self.cfg.horizon_max_period)
        )
        x = goal_features(z, z_goal)
        for linear, norm, mod in zip(self.layers, self.norms, self.modulation, strict=True):
            scale, shift = mod(e).chunk(2, dim=-1)
            x = self.dropout(self.act_fn(norm(linear(x)) * (1 + scale) + shift))
        return self.head(x).unsqueeze(1)


POLICY = GCIDMPolicy
"""The class the registry builds for backbone ``gc_idm`` (``larc_core.policies.policy_class``)."""
