"""Settings of behaviour cloning (config block ``policy.train``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from larc_core.objectives.config import ObjectiveConfig, setting
from larc_core.objectives.spec import ObjectiveSpec


@dataclass
class BCConfig(ObjectiveConfig):
    """Optimisation of the behaviour-cloned stages (LARC-IDM, LARC-Chunk, GC-IDM)."""

    block: ClassVar[tuple[str, ...]] = ("policy", "train")
    description: ClassVar[str] = (
        "Behaviour cloning (objective bc, larc_core/objectives/bc): the optimisation settings "
        "of every stage trained on the recorded actions from scratch.")

    steps: int = setting("Optimiser steps per seed.", minimum=1)
    batch_size: int = setting("Hindsight examples per step.", minimum=1)
    lr: float = setting("Peak AdamW learning rate.", exclusiveMinimum=0, maximum=1)
    weight_decay: float = setting("AdamW weight decay.", 0.0, minimum=0)
    smooth_weight: float = setting("Weight of the action-chunk smoothness loss.", 0.0, minimum=0)
    warmup_steps: int = setting(
        "Linear learning-rate warm-up steps (then cosine decay to 10% of lr).", 0, minimum=0)
    grad_clip: float = setting("Gradient-norm clip (0 = none).", 1.0, minimum=0)
    checkpoint_every: int = setting(
        "Steps between resume-state saves (.larc_state/); no effect on the weights.", 500,
        minimum=1)
    val_every: int = setting(
        "Steps between held-out losses (val_*: a fixed draw of validation-episode examples) in "
        "the training log and curves, also after the last step; no effect on the weights.", 500,
        minimum=1)


SPEC = ObjectiveSpec(BCConfig)
