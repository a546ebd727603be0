"""Backbone ``gc_idm``: ``config.py`` exports ``CONFIG`` (no torch), ``model.py`` ``POLICY``."""

from larc_core.policies.gc_idm.config import GCIDMConfig

__all__ = ["GCIDMConfig"]
