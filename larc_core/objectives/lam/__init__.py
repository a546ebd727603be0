"""Latent action model: learned from latents alone (LAPO / LAPA), read by later stages."""

from larc_core.objectives.lam.config import LAMConfig
from larc_core.objectives.lam.model import (
    LatentActionModel,
    LatentActionModelConfig,
    load_latent_action_model,
)
from larc_core.objectives.lam.objective import LatentActionLearning

OBJECTIVE = LatentActionLearning

__all__ = [
    "OBJECTIVE",
    "LAMConfig",
    "LatentActionLearning",
    "LatentActionModel",
    "LatentActionModelConfig",
    "load_latent_action_model",
]
