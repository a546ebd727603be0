"""LARA: latent action representation alignment (row larc_chunk_lara)."""

from larc_core.objectives.lara.config import LARAConfig
from larc_core.objectives.lara.objective import LatentActionAlignment

OBJECTIVE = LatentActionAlignment

__all__ = ["OBJECTIVE", "LARAConfig", "LatentActionAlignment"]
