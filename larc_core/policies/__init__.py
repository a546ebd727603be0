"""Goal-conditioned latent policies, found by name (LeRobot style).

A backbone ``<name>`` is the folder ``larc_core/policies/<name>/`` whose ``__init__`` exports
``POLICY``: a :class:`LatentPolicy` subclass whose ``config_class`` is its config dataclass.
The backbones in use are those of the registered training stages (``larc_core.methods``), so a
new policy type is its folder plus one registry line.
"""

from __future__ import annotations

import importlib

from larc_core.methods import STAGES
from larc_core.policies.base import ActionStats, LatentPolicy
from larc_core.policies.chunk import ChunkConfig, ChunkPolicy
from larc_core.policies.gc_idm import GCIDMConfig, GCIDMPolicy
from larc_core.policies.idm import IDMConfig, IDMPolicy


def policy_class(name: str) -> type[LatentPolicy]:
    """The policy class of backbone ``name`` (a registered stage's backbone)."""
    backbones = sorted({s.backbone for s in STAGES.values() if s.backbone})
    if name not in backbones:
        raise KeyError(f"unknown policy {name!r}; registered: {backbones}")
    module = importlib.import_module(f"larc_core.policies.{name}")
    cls = getattr(module, "POLICY", None)
    if not (isinstance(cls, type) and issubclass(cls, LatentPolicy)):
        raise TypeError(f"larc_core.policies.{name} must export POLICY, a LatentPolicy subclass")
    return cls


POLICY_REGISTRY: dict[str, type[LatentPolicy]] = {
    s.backbone: policy_class(s.backbone) for s in STAGES.values() if s.backbone
}
"""Backbone name -> policy class; each class names its config dataclass as ``config_class``."""


def make_policy(name: str, **config) -> LatentPolicy:
    """Build the policy registered as ``name`` from keyword config values."""
    cls = policy_class(name)
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
    "policy_class",
]
