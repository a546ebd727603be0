"""Behaviour cloning on a labeled fraction: LAPA's fine-tune and its few-label baseline.

``config.py``: its settings and ``SPEC`` (no torch); ``objective.py``: ``OBJECTIVE``, which trains it.
"""

from larc_core.objectives.lapa.config import SPEC, LAPAConfig

__all__ = ["SPEC", "LAPAConfig"]
