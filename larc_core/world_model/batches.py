"""Reproducible batch order and batch assembly for world-model training.

The window indices of step s depend only on (seed, s): the run walks through seeded
per-epoch permutations of all windows, so a resumed run sees exactly the batches an
uninterrupted one would, whatever process or worker count produced the earlier steps.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

_MIX = 0x9E3779B97F4A7C15  # odd 64-bit constant (golden ratio) for seed mixing


def mix_seed(*parts: int) -> int:
    """Deterministically combine integers into one 63-bit seed (order matters)."""
    h = 0x2545F4914F6CDD1D
    for p in parts:
        h = ((h ^ (int(p) & 0xFFFFFFFFFFFFFFFF)) * _MIX) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 29
    return h & 0x7FFFFFFFFFFFFFFF


class StepBatchSampler:
    """Yields the window-index list of every step in ``[start_step, end_step)``.

    Step s takes positions ``[s * B, (s + 1) * B)`` of the concatenation of epoch
    permutations, epoch e being ``randperm(n)`` seeded by ``(seed, e)``.
    """

    def __init__(self, n_windows: int, batch_size: int, seed: int, start_step: int,
                 end_step: int) -> None:
        if n_windows < 1:
            raise ValueError("cannot sample batches: the dataset has no training windows")
        self.n, self.batch_size, self.seed = n_windows, batch_size, seed
        self.start_step, self.end_step = start_step, end_step
        self._perms: dict[int, np.ndarray] = {}

    def _perm(self, epoch: int) -> np.ndarray:
        if epoch not in self._perms:
            if len(self._perms) > 2:  # a batch spans at most two epochs when B <= n
                self._perms.pop(min(self._perms))
            rng = np.random.default_rng(mix_seed(self.seed, epoch, 7))
            self._perms[epoch] = rng.permutation(self.n)
        return self._perms[epoch]

    def indices(self, step: int) -> list[int]:
        """Window indices of ``step`` (length ``batch_size``)."""
        pos = np.arange(step * self.batch_size, (step + 1) * self.batch_size, dtype=np.int64)
        epochs, offsets = np.divmod(pos, self.n)
        return [int(self._perm(int(e))[o]) for e, o in zip(epochs, offsets, strict=True)]

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start_step, self.end_step):
            yield self.indices(step)

    def __len__(self) -> int:
        return self.end_step - self.start_step


def collate_windows(items: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
    """Stack WindowDataset items into ``frames`` uint8 (B, T, H, W, 3), ``actions`` (B, T, A)."""
    frames = torch.stack([torch.as_tensor(np.asarray(it["frames"])) for it in items])
    actions = torch.stack([torch.as_tensor(np.asarray(it["actions"]), dtype=torch.float32)
                           for it in items])
    return {"frames": frames, "actions": actions}


def episode_rows(ep_offset: np.ndarray, ep_len: np.ndarray, episodes: Sequence[int]) -> np.ndarray:
    """Row indices (sorted) of the given episodes."""
    episodes = np.asarray(episodes, dtype=np.int64)
    if episodes.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([
        np.arange(int(ep_offset[e]), int(ep_offset[e]) + int(ep_len[e]), dtype=np.int64)
        for e in episodes
    ])


def action_stats(actions: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and std ``(action_dim,)`` of ``actions[rows]`` (float64 accumulation)."""
    if rows.size == 0:
        raise ValueError("cannot fit action statistics: no training rows")
    sub = np.asarray(actions, dtype=np.float64)[rows]
    return sub.mean(axis=0).astype(np.float32), sub.std(axis=0).astype(np.float32)
