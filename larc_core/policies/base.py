"""Shared pieces of the goal-conditioned latent policies.

Every policy maps a current latent and a goal latent to a chunk of K normalised relative
actions. K = 1 for the inverse-dynamics policy. Actions are z-scored with the training
set's action statistics (``ActionStats``); :meth:`LatentPolicy.act` undoes that.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class ActionStats:
    """Per-dimension mean and std of the raw relative actions of the training episodes."""

    mean: torch.Tensor
    """(A,) mean of the relative action (A = 2 for PushT)."""
    std: torch.Tensor
    """(A,) standard deviation, floored to avoid division by ~0."""

    @classmethod
    def from_actions(cls, actions: torch.Tensor, min_std: float = 1e-3) -> ActionStats:
        """Fit from raw actions of shape (N, A)."""
        return cls(actions.mean(0).float(), actions.std(0).clamp_min(min_std).float())

    def normalize(self, a: torch.Tensor) -> torch.Tensor:
        """(..., A) raw -> (..., A) z-scored."""
        return (a - self.mean.to(a)) / self.std.to(a)

    def denormalize(self, a: torch.Tensor) -> torch.Tensor:
        """(..., A) z-scored -> (..., A) raw."""
        return a * self.std.to(a) + self.mean.to(a)

    def to_dict(self) -> dict[str, torch.Tensor]:
        return {"mean": self.mean.clone(), "std": self.std.clone()}

    @classmethod
    def from_dict(cls, d: dict[str, torch.Tensor]) -> ActionStats:
        return cls(d["mean"].float(), d["std"].float())


def mlp(in_dim: int, hidden: int, out_dim: int, depth: int, dropout: float = 0.0) -> nn.Sequential:
    """``depth`` hidden layers of width ``hidden`` with LayerNorm + GELU, then a linear head."""
    layers: list[nn.Module] = []
    d = in_dim
    for _ in range(depth):
        layers += [nn.Linear(d, hidden), nn.LayerNorm(hidden), nn.GELU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        d = hidden
    layers.append(nn.Linear(d, out_dim))
    return nn.Sequential(*layers)


class LatentPolicy(nn.Module):
    """Base class: (z_t, z_goal) -> chunk of normalised actions.

    Subclasses set ``chunk_len`` and implement :meth:`forward`. A policy that also reads the
    number of env steps left to reach the goal sets ``uses_horizon = True`` and takes it as a
    third argument ``remaining`` (B,); trainers and controllers pass it only to such policies.
    """

    chunk_len: int
    action_dim: int = 2
    uses_horizon: bool = False
    """True when :meth:`forward` needs ``remaining`` (B,), the env steps left to the goal."""

    def forward(self, z: torch.Tensor, z_goal: torch.Tensor) -> torch.Tensor:
        """Map latents (B, D) and goal latents (B, D) to normalised actions (B, K, A)."""
        raise NotImplementedError

    def predict(
        self, z: torch.Tensor, z_goal: torch.Tensor, remaining: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Normalised actions (B, K, A); ``remaining`` (B,) reaches only horizon policies."""
        if self.uses_horizon:
            return self(z, z_goal, remaining)
        return self(z, z_goal)

    @torch.no_grad()
    def act(
        self, z: torch.Tensor, z_goal: torch.Tensor, stats: ActionStats,
        remaining: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Raw relative actions (B, K, A) for latents (B, D) and goals (B, D), in eval mode;
        ``remaining`` (B,) env steps to the goal is required by horizon policies only."""
        return stats.denormalize(self.predict(z, z_goal, remaining))


def goal_features(z: torch.Tensor, z_goal: torch.Tensor) -> torch.Tensor:
    """(B, D), (B, D) -> (B, 3D): current, goal and their difference (the displacement to make)."""
    return torch.cat([z, z_goal, z_goal - z], dim=-1)
