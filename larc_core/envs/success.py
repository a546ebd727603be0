"""The goal-pose success test of LeWM / DINO-WM PushT evaluation (REFERENCE section 2).

Success = L2 distance of [agent x, agent y, block x, block y] below ``POS_TOL`` (512-px units)
AND wrapped block-angle difference below ``ANGLE_TOL``. This is NOT gym-pusht's coverage > 0.95
test; tables must say which definition they use.
"""

from __future__ import annotations

import math

import numpy as np

POS_TOL = 20.0
ANGLE_TOL = math.pi / 9


def wrap_angle(angle: np.ndarray | float) -> np.ndarray:
    """Wrap angles to [-pi, pi)."""
    return (np.asarray(angle, dtype=np.float64) + np.pi) % (2.0 * np.pi) - np.pi


def _as_states(x: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 0 or arr.shape[-1] < 5:
        raise ValueError(
            f"{name} must have shape (..., >=5) [ax, ay, bx, by, theta, ...]; got {arr.shape}"
        )
    return arr


def pose_errors(cur: np.ndarray, goal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position and angle errors between states (..., >=5); leading dims broadcast.

    Returns:
        pos_err: L2 norm of goal[..., :4] - cur[..., :4], shape (...).
        angle_err: |wrap(goal[..., 4] - cur[..., 4])| in [0, pi], shape (...).
    """
    cur, goal = _as_states(cur, "cur"), _as_states(goal, "goal")
    pos_err = np.linalg.norm(goal[..., :4] - cur[..., :4], axis=-1)
    angle_err = np.abs(wrap_angle(goal[..., 4] - cur[..., 4]))
    return pos_err, angle_err


def goal_reached(cur: np.ndarray, goal: np.ndarray) -> bool | np.ndarray:
    """Success test for states (..., >=5): a Python bool for single states, else bool (...)."""
    pos_err, angle_err = pose_errors(cur, goal)
    ok = (pos_err < POS_TOL) & (angle_err < ANGLE_TOL)
    return bool(ok) if np.ndim(ok) == 0 else ok
