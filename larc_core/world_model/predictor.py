"""Predictor-side modules: action encoder, projector MLPs and the AdaLN-zero causal transformer.

Module and parameter names follow the published LeWM checkpoint (``action_encoder.patch_embed``,
``predictor.transformer.layers.{i}.attn.to_qkv`` ...) so its weights load strictly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ProjectorMLP(nn.Module):
    """``net`` = Linear -> BatchNorm1d -> GELU -> Linear (keys ``net.{0,1,3}``).

    Input ``(N, in_dim)``; output ``(N, out_dim)``. BatchNorm makes the output batch-dependent in
    train mode: call ``eval()`` for inference.
    """

    def __init__(self, in_dim: int, hidden: int, out_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden), nn.BatchNorm1d(hidden), nn.GELU(), nn.Linear(hidden, out_dim)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_dim) -> (N, out_dim)."""
        return self.net(x)


class ActionEncoder(nn.Module):
    """Per-step action-block embedding: Conv1d(k=1) -> Linear -> SiLU -> Linear.

    Input ``(B, T, A)`` z-scored action blocks; output ``(B, T, D)``.
    """

    def __init__(self, block_dim: int, hidden: int, out_dim: int) -> None:
        super().__init__()
        # A kernel-1 Conv1d is a per-step linear map; kept as a conv for checkpoint compatibility.
        self.patch_embed = nn.Conv1d(block_dim, block_dim, kernel_size=1)
        self.embed = nn.Sequential(nn.Linear(block_dim, hidden), nn.SiLU(),
                                   nn.Linear(hidden, out_dim))

    def forward(self, actions: torch.Tensor) -> torch.Tensor:
        """(B, T, A) -> (B, T, D)."""
        x = self.patch_embed(actions.float().transpose(1, 2)).transpose(1, 2)
        return self.embed(x)


class CausalAttention(nn.Module):
    """Pre-LayerNorm multi-head causal self-attention (keys ``norm``, ``to_qkv``, ``to_out.0``)."""

    def __init__(self, dim: int, heads: int, head_dim: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.dropout = dropout
        self.norm = nn.LayerNorm(dim)
        self.to_qkv = nn.Linear(dim, 3 * heads * head_dim, bias=False)
        self.to_out = nn.Sequential(nn.Linear(heads * head_dim, dim), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> (B, T, D); step t attends to steps <= t only."""
        b, t, _ = x.shape
        q, k, v = (z.view(b, t, self.heads, -1).transpose(1, 2)
                   for z in self.to_qkv(self.norm(x)).chunk(3, dim=-1))
        out = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True
        )
        return self.to_out(out.transpose(1, 2).reshape(b, t, -1))


class FeedForward(nn.Module):
    """``net`` = LayerNorm, Linear, GELU, Dropout, Linear, Dropout (keys ``net.{0,1,4}``)."""

    def __init__(self, dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(dim), nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(hidden, dim), nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> (B, T, D)."""
        return self.net(x)


def _modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale) + shift


class AdaLNBlock(nn.Module):
    """Transformer block conditioned on a per-step vector through AdaLN-zero.

    The conditioning c (B, T, D) produces shift/scale/gate for both sub-layers; the modulation
    layer starts at zero so every block is the identity at initialisation.
    """

    def __init__(self, dim: int, heads: int, head_dim: int, mlp_dim: int, dropout: float) -> None:
        super().__init__()
        self.attn = CausalAttention(dim, heads, head_dim, dropout)
        self.mlp = FeedForward(dim, mlp_dim, dropout)
        # Parameter-free norms (modulated by c); the sub-layers keep their own affine norms too.
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))
        nn.init.zeros_(self.adaLN_modulation[1].weight)
        nn.init.zeros_(self.adaLN_modulation[1].bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """x (B, T, D), c (B, T, D) -> (B, T, D)."""
        shift1, scale1, gate1, shift2, scale2, gate2 = self.adaLN_modulation(c).chunk(6, dim=-1)
        x = x + gate1 * self.attn(_modulate(self.norm1(x), shift1, scale1))
        return x + gate2 * self.mlp(_modulate(self.norm2(x), shift2, scale2))


class ConditionalTransformer(nn.Module):
    """Stack of :class:`AdaLNBlock` followed by a final LayerNorm (keys ``norm``, ``layers``)."""

    def __init__(self, dim: int, depth: int, heads: int, head_dim: int, mlp_dim: int,
                 dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.layers = nn.ModuleList(
            AdaLNBlock(dim, heads, head_dim, mlp_dim, dropout) for _ in range(depth)
        )

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """x (B, T, D), c (B, T, D) -> (B, T, D)."""
        for block in self.layers:
            x = block(x, c)
        return self.norm(x)


class ARPredictor(nn.Module):
    """Autoregressive latent predictor over at most ``history`` steps.

    Input latents ``(B, T, D)`` with ``T <= history`` and action embeddings ``(B, T, D)``;
    output ``(B, T, D)`` where step t is the (pre-``pred_proj``) prediction of latent t+1.
    """

    def __init__(self, dim: int, history: int, depth: int, heads: int, head_dim: int,
                 mlp_dim: int, dropout: float) -> None:
        super().__init__()
        self.history = history
        self.pos_embedding = nn.Parameter(torch.randn(1, history, dim))
        self.transformer = ConditionalTransformer(dim, depth, heads, head_dim, mlp_dim, dropout)

    def forward(self, latents: torch.Tensor, action_emb: torch.Tensor) -> torch.Tensor:
        """latents (B, T, D), action_emb (B, T, D) -> (B, T, D)."""
        t = latents.shape[1]
        if t > self.history:
            raise ValueError(
                f"predictor got {t} steps but its position embedding holds history={self.history};"
                " pass at most `history` latents (rollout keeps the last `history` automatically)"
            )
        return self.transformer(latents + self.pos_embedding[:, :t], action_emb)
