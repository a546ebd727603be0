"""Goal-conditioned latent policies, found by name through a small registry (LeRobot style)."""

from __future__ import annotations

from larc_core.policies.base import ActionStats, LatentPolicy
from larc_core.policies.chunk import ChunkConfig, ChunkPolicy
from larc_core.policies.gc_idm import GCIDMConfig, GCIDMPolicy
from larc_core.policies.idm import IDMConfig, IDMPolicy

POLICY_REGISTRY: dict[str, type[LatentPolicy]] = {
    "idm": IDMPolicy,
    "chunk": ChunkPolicy,
    "gc_idm": GCIDMPolicy,
}
"""Backbone name -> policy class; each class names its config dataclass as ``config_class``."""


def make_policy(name: str, **config) -> LatentPolicy:
    """Build the policy registered as ``name`` from keyword config values."""
    if name not in POLICY_REGISTRY:
        raise KeyError(f"unknown policy {name!r}; registered: {sorted(POLICY_REGISTRY)}")
    cls = POLICY_REGISTRY[name]
    fields = cls.config_class.__dataclass_fields__
    unknown = sorted(set(config) - set(fields))
    if unknown:
        raise KeyError(f"policy {name!r} got unknown config keys {unknown}; known: {sorted(fields)}")
    return cls(cls.config_class(**config))


__all__ = [
    "POLICY_REGISTRY",
    "ActionStats",
    "ChunkConfig",
    "ChunkPolicy",
    "GCIDMConfig",
    "GCIDMPolicy",
    "IDMConfig",
    "IDMPolicy",
    "LatentPolicy",
    "make_policy",
]
