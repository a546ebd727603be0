"""Configuration of the LARC-IDM policy."""

from __future__ import annotations

from dataclasses import dataclass

from larc_core.policies.config import PolicyConfig


@dataclass
class IDMConfig(PolicyConfig):
    """Single-step goal-conditioned inverse dynamics on frozen latents (chunk length 1)."""


CONFIG = IDMConfig
"""The config dataclass of backbone ``idm`` (``larc_core.policies.policy_config_class``)."""
