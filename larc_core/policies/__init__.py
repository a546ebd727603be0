"""Goal-conditioned latent policies, found by name (LeRobot style).

A backbone ``<name>`` is the folder ``larc_core/policies/<name>/`` with

- ``config.py``: ``CONFIG``, its config dataclass (a
  :class:`~larc_core.policies.config.PolicyConfig`; no torch: the workflow checks config blocks
  against it when Snakemake parses);
- ``model.py``: ``POLICY``, the :class:`~larc_core.policies.base.LatentPolicy` subclass built from
  it (its ``config_class`` is ``CONFIG``), imported only when a policy is built or loaded.

The backbones in use are those of the registered training stages (``larc_core.methods``), so a
new policy type is its folder plus one registry line.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from larc_core.lazy import lazy_attributes
from larc_core.methods import STAGES
from larc_core.policies.config import PolicyConfig

if TYPE_CHECKING:
    from larc_core.policies.base import LatentPolicy


def _registered(name: str) -> None:
    backbones = sorted({s.backbone for s in STAGES.values() if s.backbone})
    if name not in backbones:
        raise KeyError(f"unknown policy {name!r}; registered: {backbones}")


def policy_config_class(name: str) -> type[PolicyConfig]:
    """The config dataclass of backbone ``name`` (a registered stage's backbone); no torch."""
    _registered(name)
    cls = getattr(importlib.import_module(f"larc_core.policies.{name}.config"), "CONFIG", None)
    if not (isinstance(cls, type) and issubclass(cls, PolicyConfig)):
        raise TypeError(f"larc_core.policies.{name}.config must export CONFIG, a PolicyConfig "
                        f"subclass")
    return cls


def policy_class(name: str) -> type[LatentPolicy]:
    """The policy class of backbone ``name`` (a registered stage's backbone); imports torch."""
    from larc_core.policies.base import LatentPolicy

    config = policy_config_class(name)
    cls = getattr(importlib.import_module(f"larc_core.policies.{name}.model"), "POLICY", None)
    if not (isinstance(cls, type) and issubclass(cls, LatentPolicy)):
        raise TypeError(f"larc_core.policies.{name}.model must export POLICY, a LatentPolicy "
                        f"subclass")
    if cls.config_class is not config:
        raise TypeError(f"{cls.__name__}.config_class must be larc_core.policies.{name}.config."
                        f"CONFIG")
    return cls


def make_policy(name: str, **config) -> LatentPolicy:
    """Build the policy registered as ``name`` from keyword config values."""
    cls = policy_class(name)
    fields = cls.config_class.__dataclass_fields__
    unknown = sorted(set(config) - set(fields))
    if unknown:
        raise KeyError(f"policy {name!r} got unknown config keys {unknown}; known: {sorted(fields)}")
    return cls(cls.config_class(**config))


POLICY_CONFIGS: dict[str, type[PolicyConfig]] = {
    s.backbone: policy_config_class(s.backbone) for s in STAGES.values() if s.backbone
}
"""Backbone name -> config dataclass, for every registered stage's backbone."""


# The models import torch: loaded on first use, not when the workflow parses.
_lazy_base = lazy_attributes(__name__, {"ActionStats": "base", "LatentPolicy": "base"})


def __getattr__(name: str) -> Any:
    if name == "POLICY_REGISTRY":
        return {b: policy_class(b) for b in POLICY_CONFIGS}
    return _lazy_base(name)


__all__ = [
    "POLICY_CONFIGS",
    "POLICY_REGISTRY",
    "ActionStats",
    "LatentPolicy",
    "make_policy",
    "policy_class",
    "policy_config_class",
]
