"""Behaviour cloning (LARC-IDM, LARC-Chunk, GC-IDM)."""

from larc_core.objectives.bc.config import BCConfig
from larc_core.objectives.bc.objective import BehaviourCloning

OBJECTIVE = BehaviourCloning

__all__ = ["OBJECTIVE", "BCConfig", "BehaviourCloning"]
