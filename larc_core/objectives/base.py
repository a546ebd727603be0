"""The interface of a training objective, and what every stage trains on.

An objective owns everything of a training stage but the loop: its settings (a
:class:`~larc_core.objectives.config.ObjectiveConfig`), what it needs (actions, the world model,
an initial checkpoint, other stages' products), the modules it trains, how it samples a batch
for (seed, step), its losses and what it writes. The loop
(:func:`larc_core.training.fit.fit_stage`) is the same for all of them: it seeds, builds the
objective, draws one fixed validation batch, and runs :func:`larc_core.engine.loop.run_training`
on ``objective.module`` with ``objective.losses(objective.sample("train", ...))``.

Adding an objective: a folder ``larc_core/objectives/<name>/`` whose ``__init__`` exports
``OBJECTIVE`` (a subclass of :class:`Objective`), and a stage naming it in
``larc_core/methods.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from larc_core.methods import Stage
from larc_core.objectives.config import ObjectiveConfig
from larc_core.objectives.spec import ObjectiveSpec


@dataclass
class TrainData:
    """What a stage trains on: one row per frame, grouped in episodes."""

    latents: torch.Tensor
    """(N, D) float32 per-frame representation (world-model latents, or state features)."""
    actions: np.ndarray | None
    """(N, A) raw relative actions (an episode's last row is padding); None for an objective
    that reads no actions."""
    ep_offset: np.ndarray
    """(E,) first row of every episode."""
    ep_len: np.ndarray
    """(E,) length of every episode."""
    train_episodes: np.ndarray
    """Episode ids it trains on."""
    val_episodes: np.ndarray
    """Episode ids its held-out losses are measured on."""
    goal_offset_min: int
    """Smallest hindsight goal offset (env steps)."""
    goal_offset_max: int
    """Largest hindsight goal offset (env steps)."""
    world_model: nn.Module | None = None
    """The frozen world model (given to objectives with ``needs_world_model``)."""

    def train_rows(self) -> np.ndarray:
        """Every frame row of the training episodes that has a recorded action after it."""
        return np.concatenate([
            np.arange(self.ep_offset[e], self.ep_offset[e] + self.ep_len[e] - 1)
            for e in self.train_episodes
        ])


class Objective:
    """One training objective. Subclasses set the class attributes and implement the methods.

    Construction happens right after the run is seeded: everything random about the initial
    weights is drawn in ``__init__``, so the same seed gives the same weights.
    """

    spec: ClassVar[ObjectiveSpec]
    """Its settings class, what it produces, what it starts from and its files
    (``<folder>/config.py``'s ``SPEC``)."""
    reads_actions: ClassVar[bool] = True
    """False: trained without action labels (``TrainData.actions`` is None)."""
    needs_world_model: ClassVar[bool] = False
    """True: ``TrainData.world_model`` is the frozen world model."""

    module: nn.Module
    """The modules the loop optimises (the policy, or a ModuleDict with its heads)."""

    def __init__(self, stage: Stage, cfg: ObjectiveConfig, data: TrainData, *,
                 model_cfg: dict[str, Any], init: Any = None, uses: dict[str, Path] | None = None,
                 device: torch.device | str = "cpu") -> None:
        """
        Args:
            stage: the registered stage it trains (its backbone, name, rule).
            cfg: its settings (defaults filled in).
            data: what it trains on.
            model_cfg: the stage's backbone block (a policy's config values; {} when the
                stage inherits its initial checkpoint's).
            init: what :meth:`load_init` returned for the initial checkpoint, or None.
            uses: stage name -> checkpoint folder of every stage named in the stage's
                ``uses`` (same seed).
            device: where it trains.
        """
        raise NotImplementedError

    @classmethod
    def load_init(cls, folder: Path, *, world_model_sha256: str, latent_dim: int,
                  demo_fingerprint: str, init_rule: str) -> Any:
        """Read the initial checkpoint in ``folder`` (refusing one of another world model,
        latent width or demonstration file; ``init_rule`` is the rule that rebuilds it)."""
        raise NotImplementedError(f"{cls.__name__} takes no initial checkpoint")

    def sample(self, split: str, batch_size: int, seed: int, step: int) -> Any:
        """The batch of step ``step`` of a run seeded ``seed`` from the ``"train"`` or
        ``"val"`` episodes; depends on nothing else (an exact resume)."""
        raise NotImplementedError

    def losses(self, batch: Any) -> dict[str, torch.Tensor]:
        """Every loss component of ``batch`` (scalar tensors), the optimised one as
        ``"total"``."""
        raise NotImplementedError

    def identity(self) -> dict[str, Any]:
        """What identifies the trained model besides the settings (folded into the resume
        hash), e.g. a policy's backbone config."""
        return {}

    def save(self, out_dir: Path, meta: dict[str, Any]) -> None:
        """Write every file of ``spec.output_files`` except ``train_log`` (written by the caller)
        into ``out_dir``, atomically, with ``meta`` recorded."""
        raise NotImplementedError
