"""Planning baselines on the frozen world model: the CEM planner of LeWM and its controller.

The settings (:mod:`larc_core.planning.config`) import without torch, so the workflow can read
them when it parses; the planner and its controller load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from larc_core.planning.config import CEMConfig, PlannerConfigError, planner_settings

_LAZY = {"CEMPlanner": "cem", "CEMResult": "cem", "CEMController": "controller",
         "episode_seed": "controller"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"larc_core.planning.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'larc_core.planning' has no attribute {name!r}")


__all__ = [
    "CEMConfig",
    "CEMController",
    "CEMPlanner",
    "CEMResult",
    "PlannerConfigError",
    "episode_seed",
    "planner_settings",
]
