"""WM-FT: rollout consistency through the frozen world model (LARC-Chunk + WM-FT)."""

from larc_core.objectives.wm_ft.config import WMFTConfig
from larc_core.objectives.wm_ft.objective import RolloutConsistency

OBJECTIVE = RolloutConsistency

__all__ = ["OBJECTIVE", "RolloutConsistency", "WMFTConfig"]
