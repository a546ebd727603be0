"""Settings of the labeled fine-tune (config block ``lapa``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from larc_core.objectives.config import ObjectiveConfig, setting
from larc_core.objectives.spec import ObjectiveSpec


@dataclass
class LAPAConfig(ObjectiveConfig):
    """Behaviour cloning on the labeled fraction of the training episodes."""

    block: ClassVar[tuple[str, ...]] = ("lapa",)
    description: ClassVar[str] = (
        "Few labels (objective lapa): behaviour cloning on a fraction of the training episodes "
        "whose actions are read; the same episodes for every seed and row. Row lapa_chunk starts "
        "from the latent-pretrained policy (stage lapa_pretrain); row larc_chunk_few trains "
        "from scratch on the same episodes (its baseline).")

    labeled_fraction: float = setting(
        "Fraction of the training episodes with action labels (at least one episode).", 0.1,
        exclusiveMinimum=0, maximum=1)
    label_seed: int = setting("Seed of the draw of the labeled episodes.", 0, minimum=0)
    steps: int = setting("Optimiser steps per seed.", 2000, minimum=1)
    batch_size: int = setting("Hindsight examples per step.", 256, minimum=1)
    lr: float = setting("Peak AdamW learning rate.", 1.0e-3, exclusiveMinimum=0, maximum=1)
    weight_decay: float = setting("AdamW weight decay.", 1.0e-4, minimum=0)
    smooth_weight: float = setting("Weight of the action-chunk smoothness loss.", 0.01,
                                   minimum=0)
    warmup_steps: int = setting("Linear learning-rate warm-up steps.", 0, minimum=0)
    grad_clip: float = setting("Gradient-norm clip (0 = none).", 1.0, minimum=0)
    checkpoint_every: int = setting(
        "Steps between resume-state saves; no effect on the weights.", 500, minimum=1)
    val_every: int = setting(
        "Steps between held-out losses in the training log; no effect on the weights.", 250,
        minimum=1)


SPEC = ObjectiveSpec(LAPAConfig)
