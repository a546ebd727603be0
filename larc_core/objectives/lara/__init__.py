"""LARA: latent action representation alignment (row larc_chunk_lara).

``config.py``: its settings and ``SPEC`` (no torch); ``objective.py``: ``OBJECTIVE``, which trains it.
"""

from larc_core.objectives.lara.config import SPEC, LARAConfig

__all__ = ["SPEC", "LARAConfig"]
