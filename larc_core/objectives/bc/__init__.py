"""Behaviour cloning (LARC-IDM, LARC-Chunk, GC-IDM).

``config.py``: its settings and ``SPEC`` (no torch); ``objective.py``: ``OBJECTIVE``, which trains it.
"""

from larc_core.objectives.bc.config import SPEC, BCConfig

__all__ = ["SPEC", "BCConfig"]
