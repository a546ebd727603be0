"""Planning baselines on the frozen world model: the CEM planner of LeWM and its controller.

The settings (:mod:`larc_core.planning.config`) import without torch, so the workflow can read
them when it parses; the planner and its controller load on first use.
"""

from __future__ import annotations

from larc_core.lazy import lazy_attributes
from larc_core.planning.config import CEMConfig, PlannerConfigError, planner_settings

__getattr__ = lazy_attributes(__name__, {"CEMPlanner": "cem", "CEMResult": "cem",
                                         "CEMController": "controller",
                                         "episode_seed": "controller"})


__all__ = [
    "CEMConfig",
    "CEMController",
    "CEMPlanner",
    "CEMResult",
    "PlannerConfigError",
    "episode_seed",
    "planner_settings",
]
