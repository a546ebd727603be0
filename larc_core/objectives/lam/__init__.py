"""Latent action model: learned from latents alone (LAPO / LAPA), read by later stages.

``config.py``: its settings and ``SPEC`` (no torch); ``objective.py``: ``OBJECTIVE``, which trains it.
"""

from larc_core.objectives.lam.config import SPEC, LAMConfig

__all__ = ["SPEC", "LAMConfig"]
