"""Settings of the latent action model (config block ``lam``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from larc_core.objectives.config import ObjectiveConfig, setting
from larc_core.objectives.spec import LATENT_ACTION_MODEL, TRAIN_LOG_FILE, ObjectiveSpec


@dataclass
class LAMConfig(ObjectiveConfig):
    """The model and its training (objective lam, stage train_lam)."""

    block: ClassVar[tuple[str, ...]] = ("lam",)
    description: ClassVar[str] = (
        "Latent action model (objective lam, larc_core/objectives/lam; rule train_lam, one per "
        "seed; report results/lam.md): an inverse model (z_t, z_t+horizon) -> a continuous "
        "latent action -> n_codes codes of a codebook_size-entry codebook each -> a forward "
        "model (z_t, codes) -> z_t+horizon, in the frozen world model's latent space, trained "
        "on the training episodes without reading their actions (LAPO / LAPA).")

    horizon: int = setting(
        "Env steps k between the two latents a latent action explains (the Chunk policy's "
        "chunk: 10).", 10, minimum=1)
    hidden_dim: int = setting("Width of the inverse and forward models' hidden layers.", 256,
                              minimum=4)
    depth: int = setting("Hidden layers of the inverse and of the forward model.", 2, minimum=1)
    n_codes: int = setting("Codes per latent action (slots, one codebook each).", 2, minimum=1,
                           maximum=8)
    code_dim: int = setting("Width of one code.", 8, minimum=1)
    codebook_size: int = setting("Entries of each codebook (LAPA / LAPO: 8-64).", 16,
                                 minimum=2, maximum=1024)
    commitment: float = setting(
        "Weight of the commitment loss (the inverse model's output kept near its code).", 0.25,
        minimum=0)
    restart_every: int = setting(
        "Steps between dead-code restarts: an entry no batch chose since the last restart is "
        "re-drawn from the current batch's latent actions.", 100, minimum=1)
    restart_until: float = setting(
        "Fraction of the steps after which no entry is restarted (the codebook settles).",
        0.75, minimum=0, maximum=1)
    steps: int = setting("Optimiser steps per seed.", 2000, minimum=1)
    batch_size: int = setting("Latent pairs (z_t, z_t+horizon) per step.", 256, minimum=1)
    lr: float = setting("Peak AdamW learning rate.", 1.0e-3, exclusiveMinimum=0, maximum=1)
    weight_decay: float = setting("AdamW weight decay.", 1.0e-4, minimum=0)
    warmup_steps: int = setting("Linear learning-rate warm-up steps.", 0, minimum=0)
    grad_clip: float = setting("Gradient-norm clip (0 = none).", 1.0, minimum=0)
    checkpoint_every: int = setting(
        "Steps between resume-state saves; no effect on the weights.", 500, minimum=1)
    val_every: int = setting(
        "Steps between held-out losses (validation episodes) in the training log; no effect on "
        "the weights.", 250, minimum=1)


MODEL_FILE = "latent_action_model.pt"
"""The trained latent action model in its checkpoint folder."""

SPEC = ObjectiveSpec(LAMConfig, produces=LATENT_ACTION_MODEL, init="none",
                     output_files={"model": MODEL_FILE, "train_log": TRAIN_LOG_FILE})
