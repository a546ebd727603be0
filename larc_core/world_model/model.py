"""The JEPA world model: pixel encoder + projector, action encoder, causal predictor + pred_proj.

Every downstream stage (latent cache, policies, WM-FT fine-tuning, evaluation) goes through
:class:`WorldModel`: it takes raw uint8 HWC frames and raw relative action blocks, and does all
normalisation inside so callers cannot get it wrong.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .config import WorldModelConfig
from .encoders import build_decoder, build_encoder
from .predictor import ActionEncoder, ARPredictor, ProjectorMLP
from .sigreg import sigreg

# ImageNet statistics: LeWM's ViT was trained on ImageNet-normalised pixels.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: State-dict entries LARC adds on top of the published LeWM layout.
LARC_ONLY_KEYS = ("action_mean", "action_std")


def reconstruction_loss(decoded: torch.Tensor, target: torch.Tensor,
                        foreground: float = 0.0) -> torch.Tensor:
    """Pixel MSE of decoded frames ``(N, 3, S, S)`` against ``target`` (same shape, [0, 1]).

    ``foreground`` > 0 adds that much weight to the pixels differing from the batch's per-pixel
    median by more than 0.1: the block and the agent cover ~2% of a frame, the static
    background and goal T the rest, so an unweighted decoder learns the background first.
    """
    err = (decoded - target) ** 2
    if foreground > 0:
        moving = (target - target.median(dim=0).values).abs().amax(1, keepdim=True)
        err = err * (1.0 + foreground * (moving > 0.1).float())
    return err.mean()


class WorldModel(nn.Module):
    """LeWM-style action-conditioned JEPA world model.

    Shapes: B batch, T time steps, H = W = ``cfg.image_size``, D = ``cfg.latent_dim``,
    A = ``cfg.frameskip * cfg.action_dim`` (one action block = the frameskip raw relative actions
    leaving a frame, flattened in time order).
    """

    def __init__(self, cfg: WorldModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.meta: dict = {}  # filled by load_world_model with the checkpoint's meta
        d = cfg.latent_dim
        # Registration order follows the published checkpoint's key order.
        self.encoder = build_encoder(cfg)
        self.predictor = ARPredictor(d, cfg.history, cfg.depth, cfg.heads, cfg.head_dim,
                                     cfg.mlp_dim, cfg.dropout)
        self.action_encoder = ActionEncoder(cfg.action_block_dim, cfg.action_embed_hidden, d)
        self.projector = ProjectorMLP(cfg.encoder_dim, cfg.projector_hidden, d)
        self.pred_proj = ProjectorMLP(d, cfg.projector_hidden, d)
        # Optional (CPU-scale deviation, see WorldModelConfig.decoder_channels); registered
        # after the LeWM modules so a model without it has exactly LeWM's keys.
        self.decoder = (build_decoder(d, cfg.decoder, cfg.decoder_channels, cfg.decoder_size)
                        if cfg.decoder_channels else None)
        a = cfg.action_block_dim
        # Persistent: the z-scoring is part of the trained model and must travel with it.
        self.register_buffer("action_mean", torch.zeros(a))
        self.register_buffer("action_std", torch.ones(a))
        self.register_buffer("pixel_mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer("pixel_std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1),
                             persistent=False)

    # ------------------------------------------------------------------ setup
    @property
    def device(self) -> torch.device:
        """Device of the model's parameters."""
        return self.action_mean.device

    def set_action_stats(self, mean: torch.Tensor | np.ndarray,
                         std: torch.Tensor | np.ndarray) -> None:
        """Set the z-scoring statistics of action blocks.

        Args:
            mean, std: either per-block ``(A,)`` or per raw action ``(action_dim,)`` (then tiled
                frameskip times, matching the block layout). ``std`` is floored at 1e-6.
        """
        a, raw = self.cfg.action_block_dim, self.cfg.action_dim
        stats = []
        for name, v in (("mean", mean), ("std", std)):
            v = torch.as_tensor(np.asarray(v, dtype=np.float32)).flatten()
            if v.numel() == raw and raw != a:
                v = v.repeat(self.cfg.frameskip)
            if v.numel() != a:
                raise ValueError(
                    f"action {name} must have {a} (frameskip*action_dim) or {raw} (action_dim) "
                    f"entries, got shape {tuple(v.shape)}"
                )
            if not torch.isfinite(v).all():
                raise ValueError(f"action {name} contains non-finite values: {v.tolist()}")
            stats.append(v)
        self.action_mean.copy_(stats[0])
        self.action_std.copy_(stats[1].clamp_min(1e-6))

    def freeze(self) -> WorldModel:
        """Eval mode and ``requires_grad=False`` on every parameter; returns self.

        Gradients still flow *through* a frozen model to its inputs (e.g. action blocks).
        """
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)
        return self

    # ----------------------------------------------------------------- encode
    def _check_frames(self, frames: torch.Tensor) -> None:
        s = self.cfg.image_size
        if frames.dtype != torch.uint8:
            raise TypeError(
                f"encode expects raw uint8 frames (..., {s}, {s}, 3) as stored and rendered, got "
                f"dtype {frames.dtype}; do not scale or normalise (the model does it)"
            )
        if frames.dim() not in (4, 5) or frames.shape[-1] != 3:
            raise ValueError(
                f"encode expects frames shaped (B, T, H, W, 3) or (B, H, W, 3), got "
                f"{tuple(frames.shape)}"
            )
        if (frames.shape[-3] != s or frames.shape[-2] != s) and not self.cfg.resize_input:
            raise ValueError(
                f"frame resolution {frames.shape[-3]}x{frames.shape[-2]} does not match the world"
                f" model's image_size {s}x{s}; render/record data at {s} px, use a world model "
                f"trained at {frames.shape[-3]} px, or set resize_input in its config"
            )

    def preprocess(self, frames: torch.Tensor) -> torch.Tensor:
        """Raw uint8 HWC frames ``(N, H, W, 3)`` -> the encoder's input ``(N, 3, S, S)``.

        Scales to [0, 1], resizes to S = ``cfg.image_size`` when ``cfg.resize_input`` and the
        frames are another size (antialiased bilinear), and applies ImageNet normalisation.
        """
        x = frames.to(self.device).permute(0, 3, 1, 2).contiguous().float() / 255.0
        s = self.cfg.image_size
        if x.shape[-2:] != (s, s):
            x = F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False,
                              antialias=True)
        return (x - self.pixel_mean) / self.pixel_std

    def encode(self, frames: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Encode raw frames into latents.

        Args:
            frames: uint8 ``(B, T, H, W, 3)`` or ``(B, H, W, 3)`` HWC pixels (any device);
                H = W = ``cfg.image_size``, or any size when ``cfg.resize_input``.

        Returns:
            float32 latents ``(B, T, D)`` or ``(B, D)`` on the model's device.
        """
        frames = torch.as_tensor(frames)
        self._check_frames(frames)
        lead = frames.shape[:-3]
        x = self.preprocess(frames.reshape(-1, *frames.shape[-3:]))
        z = self.projector(self.encoder(x))
        return z.reshape(*lead, -1)

    # ---------------------------------------------------------------- predict
    def normalize_actions(self, action_blocks: torch.Tensor) -> torch.Tensor:
        """Z-score raw action blocks ``(..., A)`` with the training-set statistics."""
        return (action_blocks.float() - self.action_mean) / self.action_std

    def predict(self, latents: torch.Tensor, action_blocks: torch.Tensor) -> torch.Tensor:
        """One parallel (teacher-forced) prediction step over a latent sequence.

        Args:
            latents: ``(B, T, D)`` with ``T <= cfg.history``.
            action_blocks: raw relative action blocks ``(B, T, A)``; block t leaves frame t.

        Returns:
            ``(B, T, D)``: output t predicts latent t+1 (causal: uses steps <= t only).
        """
        b, t, d = latents.shape
        if action_blocks.shape != (b, t, self.cfg.action_block_dim):
            raise ValueError(
                f"action_blocks must be (B, T, A) = ({b}, {t}, {self.cfg.action_block_dim}) to "
                f"match latents {tuple(latents.shape)}, got {tuple(action_blocks.shape)}"
            )
        if d != self.cfg.latent_dim:
            raise ValueError(f"latents must have D={self.cfg.latent_dim}, got {d}")
        act_emb = self.action_encoder(self.normalize_actions(action_blocks))
        h = self.predictor(latents, act_emb)
        return self.pred_proj(h.reshape(b * t, d)).reshape(b, t, d)

    def rollout(self, history: torch.Tensor, action_blocks: torch.Tensor,
                history_actions: torch.Tensor | None = None) -> torch.Tensor:
        """Autoregressive K-step imagination from a latent history.

        Args:
            history: context latents ``(B, H0, D)``, the last one being the current latent z_t.
            action_blocks: raw action blocks ``(B, K, A)`` applied from z_t on.
            history_actions: raw blocks ``(B, H0 - 1, A)`` that led from each history latent to
                the next. None (or H0 = 1) fills them with the training mean action, which is only
                exact for H0 = 1.

        Returns:
            ``(B, K, D)``: predicted z_{t+1} .. z_{t+K}. Differentiable w.r.t. ``action_blocks``
            and ``history`` (also when the model is frozen); the context keeps the last
            ``cfg.history`` latents.
        """
        if history.dim() != 3 or history.shape[1] < 1:
            raise ValueError(f"history must be (B, H0>=1, D), got {tuple(history.shape)}")
        b, h0, _ = history.shape
        k = action_blocks.shape[1]
        a = self.cfg.action_block_dim
        if action_blocks.dim() != 3 or action_blocks.shape[0] != b or action_blocks.shape[2] != a:
            raise ValueError(
                f"action_blocks must be (B={b}, K, A={a}), got {tuple(action_blocks.shape)}"
            )
        if history_actions is None:
            history_actions = self.action_mean.expand(b, h0 - 1, a)
        elif history_actions.shape != (b, h0 - 1, a):
            raise ValueError(
                f"history_actions must be (B, H0-1, A) = ({b}, {h0 - 1}, {a}), got "
                f"{tuple(history_actions.shape)}"
            )
        latents = list(history.unbind(1))
        actions = list(history_actions.to(action_blocks.dtype).unbind(1))
        preds = []
        n = self.cfg.history
        for step in range(k):
            actions.append(action_blocks[:, step])
            ctx_z = torch.stack(latents[-n:], dim=1)
            ctx_a = torch.stack(actions[-n:], dim=1)
            nxt = self.predict(ctx_z, ctx_a)[:, -1]
            latents.append(nxt)
            preds.append(nxt)
        return torch.stack(preds, dim=1)

    # ------------------------------------------------------------------- loss
    def rollout_loss(self, z: torch.Tensor, action_blocks: torch.Tensor,
                     steps: int) -> torch.Tensor:
        """MSE of R-block rollouts from every start of a window against its latents.

        A rollout starts at each position p = 0 .. T - 1 - R of the window, from the real
        latents up to p (at most ``cfg.history`` of them, with the blocks between them: a
        planner's context after its first plan) and runs under the recorded blocks p .. p+R-1;
        it is scored against z[:, p+1 .. p+R]. Rollouts with the same context length run as one
        batch.

        Args:
            z: latents ``(B, T, D)``; action_blocks: raw ``(B, T, A)``; steps: R < T.

        Returns:
            Scalar: the mean squared error over rollouts, steps, batch and dimensions.
        """
        b, t, _ = z.shape
        by_context: dict[int, list[int]] = {}
        for p in range(t - steps):
            by_context.setdefault(min(p + 1, self.cfg.history), []).append(p)
        total, count = z.new_zeros(()), 0
        for h0, starts in by_context.items():
            ctx = torch.cat([z[:, p + 1 - h0:p + 1] for p in starts])
            ctx_a = torch.cat([action_blocks[:, p + 1 - h0:p] for p in starts])
            plan = torch.cat([action_blocks[:, p:p + steps] for p in starts])
            target = torch.cat([z[:, p + 1:p + steps + 1] for p in starts])
            imagined = self.rollout(ctx, plan, ctx_a if h0 > 1 else None)
            total = total + F.mse_loss(imagined, target, reduction="sum")
            count += target.numel()
        return total / count

    def loss(self, frames: torch.Tensor, action_blocks: torch.Tensor,
             sigreg_weight: float = 0.09, sigreg_directions: int = 1024,
             generator: torch.Generator | None = None,
             recon_weight: float = 0.0, recon_foreground: float = 0.0,
             rollout_steps: int = 0, rollout_weight: float = 1.0,
             ) -> dict[str, torch.Tensor]:
        """LeWM training objective on a batch of windows.

        Args:
            frames: uint8 ``(B, T, H, W, 3)``, T >= 2; the teacher-forced term reads the first
                ``min(T, cfg.history + 1)`` frames.
            action_blocks: raw ``(B, T, A)`` (the last block is unused).
            sigreg_weight: weight of SIGReg in ``total``.
            sigreg_directions: random directions for SIGReg.
            generator: makes SIGReg's directions reproducible.
            recon_weight: weight of ``recon``, the MSE between one frame per window (a random
                time step drawn from ``generator``; pixels in [0, 1], resized to the decoder's
                output size) and its decoding from its latent; needs ``cfg.decoder_channels``.
            recon_foreground: extra weight of the pixels that differ from the batch's
                per-pixel median (what moves: block and agent) in ``recon``.
            rollout_steps: R > 0 adds ``rollout`` (:meth:`rollout_loss`): the error of the
                predictor's own R-block rollouts, the error a planner meets, compounding
                included; needs T >= R + 1.
            rollout_weight: weight of ``rollout`` in ``total``.

        Returns:
            dict of scalars: ``pred`` = MSE(predict(z[:, :h], a[:, :h]), z[:, 1:h + 1]) with
            h = min(T - 1, ``cfg.history``), ``sigreg`` (per time step over the batch,
            averaged), ``recon`` when ``recon_weight`` > 0, ``rollout`` when ``rollout_steps``
            > 0, and ``total``.
        """
        if frames.dim() != 5 or frames.shape[1] < 2:
            raise ValueError(f"loss expects frames (B, T>=2, H, W, 3), got {tuple(frames.shape)}")
        if rollout_steps >= frames.shape[1]:
            raise ValueError(f"rollout_steps={rollout_steps} needs windows of at least "
                             f"{rollout_steps + 1} frames, got {frames.shape[1]}")
        z = self.encode(frames)
        action_blocks = action_blocks.to(z.device)
        h = min(frames.shape[1] - 1, self.cfg.history)
        pred = self.predict(z[:, :h], action_blocks[:, :h])
        pred_loss = F.mse_loss(pred, z[:, 1:h + 1])
        reg = sigreg(z.transpose(0, 1), sigreg_directions, generator)
        out = {"pred": pred_loss, "sigreg": reg, "total": pred_loss + sigreg_weight * reg}
        if rollout_steps > 0:
            out["rollout"] = self.rollout_loss(z, action_blocks, rollout_steps)
            out["total"] = out["total"] + rollout_weight * out["rollout"]
        if recon_weight > 0:
            if self.decoder is None:
                raise ValueError("recon_weight > 0 needs a pixel decoder: set "
                                 "world_model.model.decoder_channels")
            # One frame per window, at a random time step (drawn from ``generator``): every
            # frame of an episode, its last ones included, can be drawn, at 1/T of the
            # decoder's cost of decoding all T frames of each window.
            b, t = frames.shape[:2]
            pick = torch.randint(t, (b,), generator=generator)
            rows = torch.arange(b)
            flat = frames[rows, pick]
            target = flat.to(z.device).permute(0, 3, 1, 2).float() / 255.0
            size = self.decoder.out_size
            if target.shape[-1] != size:
                target = F.interpolate(target, size=(size, size), mode="bilinear",
                                       align_corners=False, antialias=True)
            decoded = self.decoder(z[rows.to(z.device), pick.to(z.device)])
            out["recon"] = reconstruction_loss(decoded, target, recon_foreground)
            out["total"] = out["total"] + recon_weight * out["recon"]
        return out
