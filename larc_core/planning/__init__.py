"""Planning baselines on the frozen world model: the CEM planner of LeWM and its controller."""

from larc_core.planning.cem import (
    CEMConfig,
    CEMPlanner,
    CEMResult,
    PlannerConfigError,
    planner_settings,
)
from larc_core.planning.controller import CEMController, episode_seed

__all__ = [
    "CEMConfig",
    "CEMController",
    "CEMPlanner",
    "CEMResult",
    "PlannerConfigError",
    "episode_seed",
    "planner_settings",
]
