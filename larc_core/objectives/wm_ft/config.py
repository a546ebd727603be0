"""Settings of the WM-FT fine-tune (config block ``policy.wm_ft``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from larc_core.objectives.config import ObjectiveConfig, setting
from larc_core.objectives.spec import ObjectiveSpec


@dataclass
class WMFTConfig(ObjectiveConfig):
    """Behaviour cloning plus rollout consistency through the frozen world model."""

    block: ClassVar[tuple[str, ...]] = ("policy", "wm_ft")
    description: ClassVar[str] = (
        "WM-FT (objective wm_ft, larc_core/objectives/wm_ft): fine-tunes the Chunk checkpoint "
        "with behaviour cloning plus the rollout-consistency loss through the frozen predictor.")

    steps: int = setting("Fine-tuning steps per seed.", minimum=1)
    batch_size: int = setting(
        "Hindsight examples per step (default policy.train.batch_size).", required=False,
        minimum=1)
    lr: float = setting("Peak AdamW learning rate.", exclusiveMinimum=0, maximum=1)
    weight_decay: float = setting("AdamW weight decay.", 0.0, minimum=0)
    bc_weight: float = setting("Behaviour-cloning loss weight.", 1.0, minimum=0)
    smooth_weight: float = setting("Smoothness loss weight.", 0.0, minimum=0)
    consistency_weight: float = setting(
        "Weight of the rollout-consistency loss through the frozen predictor.", 1.0, minimum=0)
    target: str = setting(
        "Which recorded latents the imagined rollout must land on: future = the latent at the "
        "end of each rolled chunk (K env steps per chunk); path = the latent after every action "
        "block of it.", "future", enum=["future", "path"])
    rollout_chunks: int = setting(
        "How far it rolls: chunks imagined through the frozen predictor, the policy choosing "
        "each chunk after the first from its own imagined latent (same goal); BC reads the "
        "first chunk only.", 1, minimum=1)
    warmup_steps: int = setting("Learning-rate warm-up steps.", 0, minimum=0)
    grad_clip: float = setting("Gradient-norm clip (0 = none).", 1.0, minimum=0)
    checkpoint_every: int = setting(
        "Steps between resume-state saves; no effect on the weights.", 500, minimum=1)
    val_every: int = setting(
        "Steps between held-out losses in the training log; no effect on the weights.", 50,
        minimum=1)


SPEC = ObjectiveSpec(WMFTConfig, init="required")
