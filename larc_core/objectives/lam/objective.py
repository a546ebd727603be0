"""Latent action learning: the latent action model trained to reconstruct ``z_{t+k}`` from
``z_t`` and the codes of the change, on the training episodes' latents alone (no action
labels), with dead-code restarts keeping its codebooks in use."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from larc_core.methods import Stage
from larc_core.objectives.base import Objective, TrainData
from larc_core.objectives.lam.config import MODEL_FILE, SPEC, LAMConfig
from larc_core.objectives.lam.model import (
    LatentActionModel,
    LatentActionModelConfig,
    save_latent_action_model,
)


def window_starts(data: TrainData, episodes: np.ndarray, horizon: int) -> torch.Tensor:
    """Every row t of ``episodes`` with t + ``horizon`` in the same episode."""
    rows = [np.arange(data.ep_offset[e], data.ep_offset[e] + data.ep_len[e] - horizon)
            for e in episodes if data.ep_len[e] > horizon]
    if not rows:
        raise ValueError(f"no episode is longer than the latent action horizon ({horizon})")
    return torch.as_tensor(np.concatenate(rows), dtype=torch.long)


def perplexity(indices: torch.Tensor, size: int) -> torch.Tensor:
    """(B, S) chosen entries -> (S,) exp(entropy) of each slot's code frequencies."""
    freq = F.one_hot(indices, size).float().mean(0)                          # (S, K)
    return torch.exp(-(freq * freq.clamp_min(1e-12).log()).sum(-1))


class LatentActionLearning(Objective):
    """Loss ``recon + codebook + commitment * commit``; the training log also shows the batch's
    reconstruction error against the copy baseline (``ratio``) and its code perplexity."""

    spec = SPEC
    reads_actions: ClassVar[bool] = False

    def __init__(self, stage: Stage, cfg: LAMConfig, data: TrainData, *,
                 model_cfg: dict[str, Any], init: Any = None, uses: dict[str, Path] | None = None,
                 device: torch.device | str = "cpu") -> None:
        self.stage, self.cfg, self.data = stage, cfg, data
        self.device = torch.device(device)
        self.model = LatentActionModel(LatentActionModelConfig(
            latent_dim=int(data.latents.shape[1]), hidden_dim=cfg.hidden_dim, depth=cfg.depth,
            n_codes=cfg.n_codes, code_dim=cfg.code_dim, codebook_size=cfg.codebook_size,
        )).to(self.device)
        self.module = self.model
        self.starts = {"train": window_starts(data, data.train_episodes, cfg.horizon),
                       "val": window_starts(data, data.val_episodes, cfg.horizon)}
        self._step: tuple[int, int] | None = None

    def sample(self, split: str, batch_size: int, seed: int, step: int) -> torch.Tensor:
        """(B,) start rows t (the pair is (z_t, z_{t+horizon}))."""
        g = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(step))
        starts = self.starts[split]
        if split == "train":
            self._step = (int(seed), int(step))
        return starts[torch.randint(len(starts), (batch_size,), generator=g)]

    def _maybe_restart(self, z: torch.Tensor, z_next: torch.Tensor) -> None:
        """Before the step's forward pass (never inside a graph): on the restart schedule,
        re-draw the entries unused since the last restart from this batch's latent actions."""
        if not self.model.training or self._step is None:
            return
        seed, step = self._step
        cfg = self.cfg
        if step == 0 or step % cfg.restart_every or step >= cfg.restart_until * cfg.steps:
            return
        g = torch.Generator().manual_seed(seed * 1_000_003 + step + 500_000_003)
        with torch.no_grad():
            self.model.restart_dead_codes(self.model.encode(z, z_next), g)

    def losses(self, rows: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.data.latents[rows].to(self.device)
        z_next = self.data.latents[rows + self.cfg.horizon].to(self.device)
        self._maybe_restart(z, z_next)
        out = self.model(z, z_next)
        recon = F.mse_loss(out["pred"], z_next)
        total = recon + out["codebook"] + self.cfg.commitment * out["commit"]
        with torch.no_grad():
            ratio = recon / F.mse_loss(z, z_next).clamp_min(1e-12)
            ppl = perplexity(out["indices"], self.cfg.codebook_size).mean()
        return {"recon": recon, "codebook": out["codebook"], "commit": out["commit"],
                "ratio": ratio, "perplexity": ppl, "total": total}

    def identity(self) -> dict[str, Any]:
        return {"lam": self.model.cfg.to_dict()}

    def save(self, out_dir: Path, meta: dict[str, Any]) -> None:
        self.model.cpu()
        save_latent_action_model(self.model, Path(out_dir) / MODEL_FILE,
                                 {**meta, "horizon": self.cfg.horizon})


OBJECTIVE = LatentActionLearning
"""The class that trains a stage of this objective (``larc_core.objectives.objective_class``)."""
