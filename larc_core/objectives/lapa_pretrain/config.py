"""Settings of LAPA's latent pretraining (config block ``lapa_pretrain``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from larc_core.objectives.config import ObjectiveConfig, setting
from larc_core.objectives.spec import POLICY_FILES, ObjectiveSpec


@dataclass
class LAPAPretrainConfig(ObjectiveConfig):
    """The policy trained to predict latent actions, on every training episode, no actions."""

    block: ClassVar[tuple[str, ...]] = ("lapa_pretrain",)
    description: ClassVar[str] = (
        "LAPA latent pretraining (objective lapa_pretrain, stage lapa_pretrain): the policy "
        "(backbone block policy.lapa_pretrain) learns to predict, from (z_t, z_goal), the codes "
        "the same seed's latent action model gives the next chunk (z_t, z_t+K), with a linear "
        "head on its `layer` output and cross-entropy per code; every training episode, no "
        "action read. Rule train_lapa fine-tunes it on the labeled episodes (block lapa).")

    layer: str = setting(
        "Name of the policy submodule the code head reads (the last hidden layer's activation "
        "of a depth-3 MLP policy: net.8).", "net.8")
    steps: int = setting("Optimiser steps per seed.", 8000, minimum=1)
    batch_size: int = setting("Hindsight examples per step.", 256, minimum=1)
    lr: float = setting("Peak AdamW learning rate.", 1.0e-3, exclusiveMinimum=0, maximum=1)
    weight_decay: float = setting("AdamW weight decay.", 1.0e-4, minimum=0)
    warmup_steps: int = setting("Linear learning-rate warm-up steps.", 0, minimum=0)
    grad_clip: float = setting("Gradient-norm clip (0 = none).", 1.0, minimum=0)
    checkpoint_every: int = setting(
        "Steps between resume-state saves; no effect on the weights.", 500, minimum=1)
    val_every: int = setting(
        "Steps between held-out losses in the training log; no effect on the weights.", 500,
        minimum=1)


HEAD_FILE = "code_head.pt"
"""The code-prediction head in the stage's checkpoint folder."""

SPEC = ObjectiveSpec(LAPAPretrainConfig, init="none", output_files={**POLICY_FILES, "head": HEAD_FILE})
