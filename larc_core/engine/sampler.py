"""Hindsight goal sampling over cached latents.

A training example is a start row t of a training episode, the K recorded actions leaving it,
and a goal row t + h from the same episode with h drawn uniformly from the configured range
(clipped to the episode end). The draw depends only on (seed, step), so a resumed run sees
exactly the batches an uninterrupted run would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class GoalBatch:
    """One batch of hindsight-relabelled examples."""

    z: torch.Tensor
    """(B, D) latent at the start row."""
    z_goal: torch.Tensor
    """(B, D) latent at the goal row."""
    actions: torch.Tensor
    """(B, K, A) raw recorded relative actions a_t .. a_{t+K-1}."""
    z_future: torch.Tensor
    """(B, D) latent K rows after the start (end of the chunk)."""
    z_path: torch.Tensor
    """(B, P, D) latents ``stride``, 2 ``stride`` .. ``horizon`` rows after the start (the
    recorded path a rollout of the policy's chunks is matched to; P = horizon / stride)."""
    offsets: torch.Tensor
    """(B,) goal offsets h in env steps: the recorded steps left to the goal, which a horizon
    policy (GC-IDM) reads as its remaining-steps input."""


class HindsightSampler:
    """Draws :class:`GoalBatch` es from training episodes of a latent cache."""

    def __init__(
        self,
        latents: torch.Tensor,
        actions: np.ndarray,
        ep_offset: np.ndarray,
        ep_len: np.ndarray,
        episodes: np.ndarray,
        chunk_len: int,
        offset_min: int,
        offset_max: int,
        horizon: int | None = None,
        stride: int | None = None,
    ) -> None:
        """
        Args:
            latents: (N, D) cached frame latents.
            actions: (N, A) raw relative actions (the last row of an episode is padding).
            ep_offset, ep_len: (E,) first row and length of each episode.
            episodes: ids of the episodes to sample from.
            chunk_len: K actions per example.
            offset_min, offset_max: goal offset range h (env steps).
            horizon: recorded rows every start must have after it for ``z_path`` (default
                ``chunk_len``); stride: rows between ``z_path``'s latents (default
                ``chunk_len``).
        """
        horizon = chunk_len if horizon is None else int(horizon)
        stride = chunk_len if stride is None else int(stride)
        if horizon < chunk_len or horizon % stride:
            raise ValueError(f"sampler horizon {horizon} must be >= chunk_len {chunk_len} and a "
                             f"multiple of stride {stride}")
        self.path_rows = torch.arange(stride, horizon + 1, stride)
        self.latents = latents.float()
        self.actions = torch.as_tensor(np.asarray(actions), dtype=torch.float32)
        self.k = chunk_len
        self.offset_min, self.offset_max = offset_min, offset_max
        starts, ends = [], []
        for e in np.asarray(episodes):
            first, n = int(ep_offset[e]), int(ep_len[e])
            last_start = first + n - 1 - max(horizon, offset_min)
            if last_start < first:
                continue
            rows = np.arange(first, last_start + 1)
            starts.append(rows)
            ends.append(np.full_like(rows, first + n - 1))
        if not starts:
            raise ValueError(
                f"no training episode is long enough for chunk_len={chunk_len} (horizon "
                f"{horizon}) and goal_offset_min={offset_min}"
            )
        self.starts = torch.as_tensor(np.concatenate(starts))
        self.ends = torch.as_tensor(np.concatenate(ends))

    def __len__(self) -> int:
        return len(self.starts)

    def sample(self, batch_size: int, seed: int, step: int) -> GoalBatch:
        """Batch for training step ``step`` of a run seeded with ``seed``."""
        g = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(step))
        idx = torch.randint(len(self.starts), (batch_size,), generator=g)
        t, end = self.starts[idx], self.ends[idx]
        hi = torch.clamp(end - t, max=self.offset_max)
        u = torch.rand(batch_size, generator=g)
        h = self.offset_min + (u * (hi - self.offset_min + 1).float()).long()
        h = torch.minimum(h, hi)
        rows = t.unsqueeze(1) + torch.arange(self.k).unsqueeze(0)
        return GoalBatch(
            z=self.latents[t],
            z_goal=self.latents[t + h],
            actions=self.actions[rows],
            z_future=self.latents[t + self.k],
            z_path=self.latents[t.unsqueeze(1) + self.path_rows.unsqueeze(0)],
            offsets=h,
        )
