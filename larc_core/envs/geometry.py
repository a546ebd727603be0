"""PushT T-block geometry in numpy, for scripted pushing and contact statistics.

The numbers are gym-pusht 0.1.8's ``PushTEnv.add_tee`` (scale 30, length 4) and agent circle
(radius 15); ``tests/test_envs.py`` checks them against the installed package. Body frame: the
origin is the reported block position, y points down the stem; world = R(theta) @ v + (bx, by),
the same transform as pymunk's ``local_to_world`` and gym-pusht's ``get_keypoints``.
"""

from __future__ import annotations

import numpy as np

AGENT_RADIUS = 15.0
# The two rectangles of the T as (x_min, y_min, x_max, y_max): the bar, then the stem.
TEE_RECTS = np.array([[-60.0, 0.0, 60.0, 30.0], [-15.0, 30.0, 15.0, 120.0]])
# gym-pusht puts the centre of gravity halfway between the two rectangle centroids.
TEE_COG = np.array([0.0, 45.0])
# Outline of the union, one vertex per corner, in order.
TEE_OUTLINE = np.array(
    [
        [-60.0, 0.0], [60.0, 0.0], [60.0, 30.0], [15.0, 30.0],
        [15.0, 120.0], [-15.0, 120.0], [-15.0, 30.0], [-60.0, 30.0],
    ]
)


def _outward_normals(outline: np.ndarray) -> np.ndarray:
    """(V, 2) unit normals of the edges outline[i] -> outline[i + 1], pointing out of the T."""
    edges = np.roll(outline, -1, axis=0) - outline
    normals = np.stack([edges[:, 1], -edges[:, 0]], axis=1)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    mids = outline + 0.5 * edges
    # Flip the normals whose probe point lands inside the T.
    inside = distance_to_tee_body(mids + 1e-3 * normals) == 0.0
    normals[inside] *= -1.0
    return normals


def rotation(theta: np.ndarray | float) -> np.ndarray:
    """Rotation matrices (..., 2, 2) for angles (...)."""
    theta = np.asarray(theta, dtype=np.float64)
    c, s = np.cos(theta), np.sin(theta)
    out = np.empty(theta.shape + (2, 2))  # filled in place: np.stack dominates small calls
    out[..., 0, 0], out[..., 0, 1], out[..., 1, 0], out[..., 1, 1] = c, -s, s, c
    return out


def body_to_world(points: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """Map body-frame points (..., 2) to world coordinates for block poses (..., 3) [x, y, th]."""
    pose = np.asarray(pose, dtype=np.float64)
    rot = rotation(pose[..., 2])
    points = np.asarray(points, dtype=np.float64)
    if pose.ndim == 1:  # one pose, any number of points: a plain matrix product
        return points @ rot.T + pose[:2]
    return np.einsum("...ij,...j->...i", rot, points) + pose[..., :2]


def world_to_body(points: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """Inverse of :func:`body_to_world`: world points (..., 2) into the block frame."""
    pose = np.asarray(pose, dtype=np.float64)
    rot = rotation(pose[..., 2])
    rel = np.asarray(points, dtype=np.float64) - pose[..., :2]
    if pose.ndim == 1:
        return rel @ rot
    return np.einsum("...ji,...j->...i", rot, rel)


def distance_to_tee_body(points: np.ndarray) -> np.ndarray:
    """Euclidean distance (...) from body-frame points (..., 2) to the T (0 inside it)."""
    p = np.asarray(points, dtype=np.float64)[..., None, :]  # (..., 1, 2) against 2 rectangles
    lo, hi = TEE_RECTS[:, :2], TEE_RECTS[:, 2:]
    gap = np.maximum(np.maximum(lo - p, p - hi), 0.0)
    return np.linalg.norm(gap, axis=-1).min(axis=-1)


def distance_to_tee(points: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """Distance (...) from world points (..., 2) to the T at block poses (..., 3)."""
    return distance_to_tee_body(world_to_body(points, pose))


def agent_block_gap(state: np.ndarray) -> np.ndarray:
    """Gap (...) in px between the agent disc and the T for states (..., >=5); <= 0 is touching."""
    state = np.asarray(state, dtype=np.float64)
    return distance_to_tee(state[..., :2], state[..., 2:5]) - AGENT_RADIUS


def in_contact(state: np.ndarray, tol: float = 1.0) -> np.ndarray:
    """Whether the agent touches the block, for states (..., >=5) -> bool (...).

    ``tol`` absorbs the solver's contact slop; gym-pusht's own ``n_contacts`` also counts walls.
    """
    return agent_block_gap(state) <= tol


def block_cog(pose: np.ndarray) -> np.ndarray:
    """World position (..., 2) of the block's centre of gravity for poses (..., 3)."""
    pose = np.asarray(pose, dtype=np.float64)
    return body_to_world(np.broadcast_to(TEE_COG, pose.shape[:-1] + (2,)), pose)


TEE_NORMALS = _outward_normals(TEE_OUTLINE)
TEE_EDGE_LENGTHS = np.linalg.norm(np.roll(TEE_OUTLINE, -1, axis=0) - TEE_OUTLINE, axis=1)


GOAL_POSE = np.array([256.0, 256.0, np.pi / 4])
"""The green target T of gym-pusht (x, y, angle): where its standard task wants the block."""
SUCCESS_COVERAGE = 0.95
"""gym-pusht's success: the block covers more than this share of the target T's area."""


def tee_coverage(pose: np.ndarray, goal: np.ndarray = GOAL_POSE) -> float:
    """gym-pusht's coverage for a block pose (3,): the area of the block's T inside the goal
    T, over the goal T's area (its ``_get_coverage``, computed from the pose with shapely as it
    does from the pymunk shapes)."""
    from shapely.geometry import Polygon
    from shapely.ops import unary_union

    corners = TEE_RECTS[:, [[0, 1], [2, 1], [2, 3], [0, 3]]]  # (2 rectangles, 4 corners, 2)

    def tee(p: np.ndarray):
        return unary_union([Polygon(body_to_world(c, p)) for c in corners])

    target = tee(np.asarray(goal, dtype=np.float64))
    return float(target.intersection(tee(np.asarray(pose, dtype=np.float64))).area / target.area)

