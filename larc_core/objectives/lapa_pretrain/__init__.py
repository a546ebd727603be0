"""LAPA's latent pretraining (stage lapa_pretrain)."""

from larc_core.objectives.lapa_pretrain.config import LAPAPretrainConfig
from larc_core.objectives.lapa_pretrain.objective import LatentPretraining

OBJECTIVE = LatentPretraining

__all__ = ["OBJECTIVE", "LAPAPretrainConfig", "LatentPretraining"]
