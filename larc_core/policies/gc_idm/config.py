"""Configuration of the horizon-conditioned inverse-dynamics baseline (GC-IDM)."""

from __future__ import annotations

from dataclasses import dataclass

from larc_core.policies.config import PolicyConfig


@dataclass
class GCIDMConfig(PolicyConfig):
    """Single-step goal-conditioned inverse dynamics whose hidden layers are AdaLN-modulated by
    the number of env steps left to reach the goal (chunk length 1)."""

    horizon_dim: int = 64
    """Size of the sinusoidal embedding of the remaining steps k and of the MLP that turns it
    into the per-layer scale and shift."""
    horizon_max_period: float = 1000.0
    """Longest period (in env steps) of the sinusoidal embedding; keep it well above the
    largest goal offset so the slow features grow monotonically over the trained range."""


CONFIG = GCIDMConfig
"""The config dataclass of backbone ``gc_idm`` (``larc_core.policies.policy_config_class``)."""
