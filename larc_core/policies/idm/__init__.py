"""Backbone ``idm``: ``config.py`` exports ``CONFIG`` (no torch), ``model.py`` ``POLICY``."""

from larc_core.policies.idm.config import IDMConfig

__all__ = ["IDMConfig"]
