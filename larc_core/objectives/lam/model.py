"""The latent action model (LAPO / LAPA / Genie style) on frozen frame latents.

From a frame latent ``z_t`` and a later one ``z_{t+k}`` of the same episode, the inverse model
infers a *latent action*, a vector quantiser turns it into a few discrete codes, and the forward
model must reconstruct ``z_{t+k}`` from ``z_t`` and those codes alone. The bottleneck (a few small
codebooks) is what makes the codes describe the change (the agent's action) rather than copy
``z_{t+k}``. No action label is read.

Shapes: ``B`` batch, ``D`` latent width, ``S`` code slots (``n_codes``), ``C`` code width
(``code_dim``), ``K`` entries per codebook (``codebook_size``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from larc_core.io import ArtifactError, atomic_torch_save, load_torch_file
from larc_core.objectives.lam.config import MODEL_FILE

FORMAT = "larc-latent-action-model"


@dataclass
class LatentActionModelConfig:
    """The model's shape (the training settings are :class:`LAMConfig`'s)."""

    latent_dim: int
    """Width D of the frame latents."""
    hidden_dim: int = 256
    """Width of both MLPs' hidden layers."""
    depth: int = 2
    """Hidden layers of each MLP."""
    n_codes: int = 2
    """Code slots S per latent action, one codebook each."""
    code_dim: int = 8
    """Width C of one code."""
    codebook_size: int = 16
    """Entries K of each codebook."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mlp(d_in: int, hidden: int, depth: int, d_out: int) -> nn.Sequential:
    """``depth`` hidden layers of Linear -> LayerNorm -> GELU, then a linear read-out."""
    layers: list[nn.Module] = []
    d = d_in
    for _ in range(depth):
        layers += [nn.Linear(d, hidden), nn.LayerNorm(hidden), nn.GELU()]
        d = hidden
    layers.append(nn.Linear(d, d_out))
    return nn.Sequential(*layers)


class LatentActionModel(nn.Module):
    """Inverse model + VQ bottleneck + forward model.

    Buffer ``usage`` (S, K): assignments counted in training mode since the last
    :meth:`restart_dead_codes` (saved with the weights, so a resumed run restarts the same
    entries).
    """

    def __init__(self, cfg: LatentActionModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d, s, c, k = cfg.latent_dim, cfg.n_codes, cfg.code_dim, cfg.codebook_size
        self.inverse = _mlp(3 * d, cfg.hidden_dim, cfg.depth, s * c)
        self.forward_model = _mlp(d + s * c, cfg.hidden_dim, cfg.depth, d)
        # A zero read-out makes the untrained forward model the copy baseline: early gradients
        # then come from what the codes tell, not from undoing a random offset.
        nn.init.zeros_(self.forward_model[-1].weight)
        nn.init.zeros_(self.forward_model[-1].bias)
        self.codebook = nn.Parameter(torch.randn(s, k, c))
        self.register_buffer("usage", torch.zeros(s, k))

    def encode(self, z: Tensor, z_next: Tensor) -> Tensor:
        """(B, D), (B, D) -> (B, S, C) continuous (pre-quantisation) latent action."""
        e = self.inverse(torch.cat([z, z_next, z_next - z], dim=-1))
        return e.view(-1, self.cfg.n_codes, self.cfg.code_dim)

    def quantize(self, e: Tensor) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        """Nearest entry of each slot's codebook, with a straight-through gradient.

        Args:
            e: (B, S, C) continuous latent action.

        Returns:
            quantised (B, S, C): the chosen entries' values with ``e``'s gradient;
            indices (B, S) long: the entry chosen in each slot;
            losses: scalar ``codebook`` (entries pulled to the outputs) and ``commit``
            (outputs kept near their entries).
        """
        books = self.codebook                                               # (S, K, C)
        dist = (e.pow(2).sum(-1, keepdim=True)                              # (B, S, K)
                - 2 * torch.einsum("bsc,skc->bsk", e, books)
                + books.pow(2).sum(-1).unsqueeze(0))
        indices = dist.argmin(-1)                                           # (B, S)
        q = books[torch.arange(self.cfg.n_codes, device=e.device), indices]  # (B, S, C)
        if self.training:
            with torch.no_grad():
                self.usage += F.one_hot(indices, self.cfg.codebook_size).sum(0).to(self.usage)
        losses = {"codebook": F.mse_loss(q, e.detach()), "commit": F.mse_loss(e, q.detach())}
        return e + (q - e).detach(), indices, losses

    def predict(self, z: Tensor, code: Tensor) -> Tensor:
        """Forward model: (B, D) latent and (B, S, C) code -> (B, D) predicted ``z_{t+k}``."""
        return z + self.forward_model(torch.cat([z, code.flatten(1)], dim=-1))

    def forward(self, z: Tensor, z_next: Tensor) -> dict[str, Tensor]:
        """(B, D), (B, D) -> ``pred`` (B, D), ``indices`` (B, S), ``continuous`` (B, S, C),
        ``quantised`` (B, S, C) and the scalar losses ``codebook`` and ``commit``."""
        e = self.encode(z, z_next)
        q, indices, losses = self.quantize(e)
        return {"pred": self.predict(z, q), "indices": indices, "continuous": e,
                "quantised": q, **losses}

    @torch.no_grad()
    def restart_dead_codes(self, recent: Tensor, generator: torch.Generator) -> int:
        """Re-draw every entry no batch chose since the last call from ``recent`` (N, S, C)
        latent actions (plus a little noise, so two restarts from one output part); clears
        ``usage``. Returns the number of entries restarted."""
        restarted = 0
        for slot in range(self.cfg.n_codes):
            dead = torch.nonzero(self.usage[slot] < 1).flatten()
            if dead.numel():
                pick = torch.randint(recent.shape[0], (dead.numel(),), generator=generator)
                noise = 1e-3 * torch.randn(dead.numel(), recent.shape[-1], generator=generator)
                self.codebook.data[slot, dead] = recent[pick, slot].cpu().to(
                    self.codebook.dtype).to(self.codebook.device) + noise.to(self.codebook.device)
                restarted += dead.numel()
        self.usage.zero_()
        return restarted


def save_latent_action_model(model: LatentActionModel, path: str | Path,
                             meta: dict[str, Any]) -> None:
    """Write the model (config, weights, ``meta``) to ``path`` atomically."""
    atomic_torch_save({
        "format": FORMAT, "version": 1, "config": model.cfg.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "meta": meta,
    }, path)


def load_latent_action_model(path: str | Path, expected_world_model_sha256: str | None = None
                             ) -> tuple[LatentActionModel, dict[str, Any]]:
    """The model in eval mode and its meta.

    Raises:
        ArtifactError: not a latent action model file, weights not matching its config, or
            trained on another world model's latents than ``expected_world_model_sha256``.
    """
    payload = load_torch_file(path, "latent action model")
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ArtifactError(f"{path} is not a LARC latent action model (expected a dict with "
                            f"format={FORMAT!r}); rerun train_lam")
    meta = payload.get("meta") or {}
    recorded = meta.get("world_model_sha256")
    if expected_world_model_sha256 and recorded and recorded != expected_world_model_sha256:
        raise ArtifactError(f"{path} was trained on the latents of another world model "
                            f"({recorded[:12]}, expected {expected_world_model_sha256[:12]}); "
                            f"rerun train_lam")
    model = LatentActionModel(LatentActionModelConfig(**payload["config"]))
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise ArtifactError(f"{path}: weights do not match its config ({exc})") from exc
    return model.eval(), meta


def used_latent_action_model(stage_name: str, uses: dict[str, Path] | None
                             ) -> tuple[LatentActionModel, dict[str, Any]]:
    """The latent action model a stage declared with ``uses=("lam",)`` reads (its folder in
    ``uses``), and its meta."""
    if not uses or "lam" not in uses:
        raise ValueError(f"{stage_name} uses the latent action model: its stage names "
                         f"uses=('lam',)")
    return load_latent_action_model(Path(uses["lam"]) / MODEL_FILE)
