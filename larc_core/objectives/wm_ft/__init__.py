"""WM-FT: rollout consistency through the frozen world model (LARC-Chunk + WM-FT).

``config.py``: its settings and ``SPEC`` (no torch); ``objective.py``: ``OBJECTIVE``, which trains it.
"""

from larc_core.objectives.wm_ft.config import SPEC, WMFTConfig

__all__ = ["SPEC", "WMFTConfig"]
