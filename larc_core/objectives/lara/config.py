"""Settings of LARA (config block ``lara``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from larc_core.objectives.config import ObjectiveConfig, setting
from larc_core.objectives.spec import POLICY_FILES, ObjectiveSpec


@dataclass
class LARAConfig(ObjectiveConfig):
    """Behaviour cloning of the Chunk policy plus latent-action alignment, the latent action
    model refined jointly."""

    block: ClassVar[tuple[str, ...]] = ("lara",)
    description: ClassVar[str] = (
        "LARA (objective lara, larc_core/objectives/lara; row larc_chunk_lara): LARC-Chunk's "
        "behaviour cloning plus align_weight x (1 - cosine) between a linear projection of the "
        "policy's `layer` output and the latent action model's continuous latent action for "
        "(z_t, z_t+K), plus lam_weight x that model's own loss; the model (the same seed's "
        "train_lam checkpoint) is refined jointly, not frozen. Optimisation defaults are "
        "policy.train's defaults of the default config.")

    align_weight: float = setting("Weight of the alignment loss (LARA: 0.01).", 0.01, minimum=0)
    lam_weight: float = setting(
        "Weight of the latent action model's loss while it is refined (LARA: 0.01).", 0.01,
        minimum=0)
    lam_commitment: float = setting(
        "Commitment weight inside the refined latent action model's loss (as lam.commitment).",
        0.25, minimum=0)
    layer: str = setting(
        "Name of the policy submodule whose output is aligned (a middle hidden layer: net.5 is "
        "the second hidden layer's activation of a depth-3 MLP policy).", "net.5")
    steps: int = setting("Optimiser steps per seed.", 8000, minimum=1)
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
        "Steps between held-out losses in the training log; no effect on the weights.", 500,
        minimum=1)


HEADS_FILE = "lara_heads.pt"
"""The alignment heads in the stage's checkpoint folder."""

SPEC = ObjectiveSpec(LARAConfig, init="none", output_files={**POLICY_FILES, "heads": HEADS_FILE})
