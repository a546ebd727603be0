"""An inspection decoder: frames from a frozen world model's latents.

Trained after the world model on its cached latents, it shows what a latent keeps (decoded
frames beside real ones) and what the predictor imagines (an autoregressive rollout under
recorded or policy-chosen action blocks, decoded). It is never used by a policy or planner, and
it never changes the world model: its loss reaches only its own weights.

Shapes: N frames, D = latent width, S = the decoder's output side (``4 * 2**len(channels)``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..logs import get_logger
from .encoders import build_decoder
from .model import reconstruction_loss

log = get_logger("world_model.latent_decoder")


def frames_to_target(frames: np.ndarray | torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float (N, 3, size, size) in [0, 1] (antialiased resize)."""
    x = torch.as_tensor(np.asarray(frames)).permute(0, 3, 1, 2).float() / 255.0
    if x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False,
                          antialias=True)
    return x


def fit_latent_decoder(latents: torch.Tensor, pixels: np.ndarray, rows: np.ndarray, kind: str,
                       channels: tuple[int, ...], size: int, steps: int, batch_size: int,
                       lr: float, seed: int, foreground: float = 0.0, on_log: Callable[[int, float], None] | None = None,
                       log_every: int = 100) -> tuple[nn.Module, list[float]]:
    """Fit a pixel decoder (:func:`~larc_core.world_model.encoders.build_decoder`) from latents
    to frames by pixel MSE.

    Args:
        latents: float (N, D), row i = latent of frame i.
        pixels: uint8 (N, H, W, 3) frames, a numpy array (rows are drawn with replacement).
        rows: int rows the decoder may train on (training episodes only).
        kind, channels, size: decoder kind (``upsample``: stages coarsest first, output side
            4 * 2**len(channels); ``broadcast``: full-resolution stages at ``size`` px).
        steps, batch_size, lr, seed: AdamW schedule; the same seed gives the same decoder.
        foreground: extra weight of the moving pixels (see
            :func:`~larc_core.world_model.model.reconstruction_loss`).
        on_log: called as ``on_log(step, loss)`` every ``log_every`` steps.

    Returns:
        (decoder in eval mode, loss per step).
    """
    if len(rows) == 0:
        raise ValueError("fit_latent_decoder needs at least one training row")
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    decoder = build_decoder(latents.shape[1], kind, tuple(channels), size)
    opt = torch.optim.AdamW(decoder.parameters(), lr=lr)
    rows_t = torch.as_tensor(np.asarray(rows, dtype=np.int64))
    losses: list[float] = []
    t0 = time.time()
    for step in range(steps):
        pick = rows_t[torch.randint(len(rows_t), (batch_size,), generator=gen)]
        target = frames_to_target(pixels[pick.numpy()], decoder.out_size)
        loss = reconstruction_loss(decoder(latents[pick].float()), target, foreground)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if on_log is not None and ((step + 1) % log_every == 0 or step + 1 == steps):
            on_log(step + 1, float(np.mean(losses[-log_every:])))
    log.info("latent decoder: %d steps in %.0f s, final loss %.5f", steps, time.time() - t0,
             float(np.mean(losses[-min(len(losses), log_every):])))
    return decoder.eval(), losses


@torch.no_grad()
def decode(decoder: nn.Module, latents: torch.Tensor) -> np.ndarray:
    """float (N, D) -> uint8 (N, S, S, 3) decoded frames."""
    img = decoder(latents.float()).clamp(0, 1).permute(0, 2, 3, 1)
    return (img * 255).round().to(torch.uint8).numpy()

