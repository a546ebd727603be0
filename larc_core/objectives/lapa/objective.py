"""Behaviour cloning on a labeled fraction of the training episodes: LAPA's action fine-tune
(from the latent-pretrained policy) and, without an initial checkpoint, its baseline (the same
policy trained on the same few labels alone)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch

from larc_core.methods import Stage
from larc_core.objectives.base import TrainData
from larc_core.objectives.bc.objective import BehaviourCloning
from larc_core.objectives.lapa.config import SPEC, LAPAConfig
from larc_core.policies.base import ActionStats


def labeled_episodes(train_episodes: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """The labeled training episodes: the first max(1, round(fraction x n)) of a permutation
    seeded by ``seed`` (so a smaller fraction's episodes are part of a larger one's)."""
    order = np.random.default_rng(seed).permutation(np.asarray(train_episodes))
    return np.sort(order[:max(1, int(round(fraction * len(order))))])


class LabeledFinetune(BehaviourCloning):
    """Behaviour cloning (same loss) on the labeled episodes only; the action statistics are
    fitted on them, also when starting from a checkpoint."""

    spec = SPEC

    def __init__(self, stage: Stage, cfg: LAPAConfig, data: TrainData, *,
                 model_cfg: dict[str, Any], init: Any = None, uses: dict[str, Path] | None = None,
                 device: torch.device | str = "cpu") -> None:
        labeled = labeled_episodes(data.train_episodes, cfg.labeled_fraction, cfg.label_seed)
        data = dataclasses.replace(data, train_episodes=labeled)
        super().__init__(stage, cfg, data, model_cfg=model_cfg, init=init, uses=uses,
                         device=device)
        self.stats = ActionStats.from_actions(
            torch.as_tensor(np.asarray(data.actions)[data.train_rows()]))

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "labeled": self.data.train_episodes.tolist()}


OBJECTIVE = LabeledFinetune
"""The class that trains a stage of this objective (``larc_core.objectives.objective_class``)."""
