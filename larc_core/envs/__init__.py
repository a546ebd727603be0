"""PushT simulator with LeWM conventions, the goal-pose success test and T-block geometry."""

from larc_core.envs.geometry import AGENT_RADIUS, agent_block_gap, block_cog, in_contact
from larc_core.envs.pusht import (
    ACTION_SCALE,
    WALL_HI,
    WALL_LO,
    PushTEnv,
    relative_to_target,
    target_to_relative,
)
from larc_core.envs.success import ANGLE_TOL, POS_TOL, goal_reached, pose_errors, wrap_angle

__all__ = [
    "ACTION_SCALE",
    "AGENT_RADIUS",
    "ANGLE_TOL",
    "POS_TOL",
    "WALL_HI",
    "WALL_LO",
    "PushTEnv",
    "agent_block_gap",
    "block_cog",
    "goal_reached",
    "in_contact",
    "pose_errors",
    "relative_to_target",
    "target_to_relative",
    "wrap_angle",
]
