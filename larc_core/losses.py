"""LARC training losses: behaviour cloning, chunk smoothness, world-model rollout consistency.

All action tensors are (B, K, A): batch, chunk length, action size (A = 2 for PushT).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


def bc_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error between predicted and recorded normalised actions, (B, K, A) each."""
    return F.mse_loss(pred, target)


def smoothness_loss(pred: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of consecutive actions in a chunk (B, K, A); 0 when K = 1."""
    if pred.shape[1] < 2:
        return pred.new_zeros(())
    return (pred[:, 1:] - pred[:, :-1]).pow(2).mean()


def chunk_to_blocks(chunk: torch.Tensor, frameskip: int) -> torch.Tensor:
    """Group a raw action chunk (B, K, A) into world-model action blocks (B, K/fs, fs*A).

    Block j concatenates actions j*fs .. (j+1)*fs-1 in time order, the layout the world model
    was trained on.
    """
    b, k, a = chunk.shape
    if k % frameskip:
        raise ValueError(f"chunk length {k} is not a multiple of frameskip {frameskip}")
    return chunk.reshape(b, k // frameskip, frameskip * a)


def imagine_chunks(
    world_model: nn.Module,
    act: Callable[[torch.Tensor, int], torch.Tensor],
    z_t: torch.Tensor,
    first_chunk: torch.Tensor,
    n_chunks: int,
    frameskip: int,
) -> torch.Tensor:
    """Roll ``n_chunks`` chunks through the frozen predictor, the policy choosing each chunk
    after the first from its own imagined latent.

    Args:
        world_model: frozen model with ``rollout(history, blocks, history_actions)`` and
            ``cfg.history``.
        act: ``act(z (B, D), j)`` -> the raw chunk (B, K, A) the policy takes at chunk j >= 1.
        z_t: (B, D) cached latent of the first chunk's first frame.
        first_chunk: (B, K, A) raw actions of chunk 0 (the policy's prediction on z_t).
        n_chunks: chunks to roll (1 = the first chunk only).
        frameskip: env steps per world-model step.

    Returns:
        (B, n_chunks * K / frameskip, D): the imagined latent after every action block.
    """
    keep = world_model.cfg.history
    latents, blocks, out = [z_t], [], []
    chunk = first_chunk
    for j in range(n_chunks):
        if j:
            chunk = act(latents[-1], j)
        new = chunk_to_blocks(chunk, frameskip)
        hist = torch.stack(latents[-keep:], dim=1)
        h0 = hist.shape[1]
        hist_a = torch.stack(blocks[-(h0 - 1):], dim=1) if h0 > 1 else None
        pred = world_model.rollout(hist, new, hist_a)
        latents += list(pred.unbind(1))
        blocks += list(new.unbind(1))
        out.append(pred)
    return torch.cat(out, dim=1)


def rollout_consistency_loss(
    world_model: nn.Module,
    z_t: torch.Tensor,
    chunk_raw: torch.Tensor,
    z_future: torch.Tensor,
    frameskip: int,
) -> torch.Tensor:
    """Roll a raw action chunk through the frozen predictor and match the recorded future latent.

    Args:
        world_model: frozen model with ``rollout(history (B, H0, D), blocks (B, M, fs*A))``.
        z_t: (B, D) cached latent of the chunk's first frame.
        chunk_raw: (B, K, A) raw relative actions predicted by the policy (K = M * fs).
        z_future: (B, D) cached latent K env steps later.
        frameskip: env steps per world-model step.

    Gradients flow through the frozen predictor into ``chunk_raw`` only: the world model's
    parameters must have ``requires_grad=False``.
    """
    blocks = chunk_to_blocks(chunk_raw, frameskip)
    pred = world_model.rollout(z_t.unsqueeze(1), blocks)[:, -1]
    return F.mse_loss(pred, z_future)
