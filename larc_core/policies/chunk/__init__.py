"""Backbone ``chunk``: ``config.py`` exports ``CONFIG`` (no torch), ``model.py`` ``POLICY``."""

from larc_core.policies.chunk.config import ChunkConfig

__all__ = ["ChunkConfig"]
