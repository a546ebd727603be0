"""A memoryless PushT expert: every action is a function of the current positions alone.

Why memoryless. A goal-conditioned policy sees one frame (or its latent) and the goal frame.
The earlier demonstrators (:class:`~larc_core.data.expert.ExpertPusher`,
:class:`~larc_core.data.pusher.RandomPusher`) commit to multi-step push plans that no frame
reveals, so the next action is not a function of what the policy sees; the project measured a
true-state Chunk policy at 32 / 20 / 20% on such data (REFERENCE section 9). This pusher keeps no
plan: ``act(state)`` depends only on the agent position and the block pose (never on the agent
velocity, which would reveal the previous action and invite copycat behaviour cloning), and
``act`` on the same state always returns the same action.

Each step it:

1. takes the desired block motion toward the fixed goal pose drawn in every frame
   (:data:`GOAL_POSE`): the centre-of-gravity translation error and the angle error, the latter
   turned into px by the T's radius of gyration;
2. scores every candidate contact point on the T outline by how well a push there (straight
   into the outline, along the inward normal) would move the block that way under a
   quasi-static model (translation along the push, rotation by its torque about the centre of
   gravity), minus a penalty on the agent's distance to the point that saturates beyond
   ``sticky_radius`` (it keeps the agent on the push it is making, and cannot flip the choice
   while the agent travels). Pushes that would drive the block into a wall and staging spots
   the agent disc cannot occupy (inner corners, walls) are excluded;
3. inside the approach corridor behind the best point it blends continuously from lining up
   to pushing (slowing as the block nears the goal); elsewhere it travels to the staging spot,
   straight when the way is clear, else round the block, always the same way round.

Behaviour cloning averages the actions it sees around a state, so the design avoids opposite
actions side by side in state space (push in / back out, circle left / circle right): with a
hard push-or-back-out switch and the shorter way round, a true-state LARC-IDM stood still in
most of its failed episodes and reached 70 / 60 / 44% at offsets 25 / 35 / 50 after 16,000
steps; with the corridor, 80 / 80 / 62%, and with one way round too, 90 / 76 / 76%, both after
8,000 steps (``benchmarks/state_policy_ceiling.py``, seed 0, 50 pairs per offset).

An episode ends when the block is within :attr:`StatePusher.done_pos` px and
:attr:`StatePusher.done_angle` rad of the goal pose and covers more than
:attr:`StatePusher.done_coverage` of the target T (gym-pusht's own success test, 0.95;
:meth:`StatePusher.done`). Coverage above 0.95 needs the origin within about 3.7 px and the angle
within about 0.045 rad, so the push slows down only inside ``slow_radius`` (30 px), where the
last corrections are made, and the agent travels between contact points at ``travel_speed`` 0.4
(the share of episodes that end so is in ``results/data.md``).
"""

from __future__ import annotations

import numpy as np

from larc_core.data.pusher import _SEGMENT_T, _TEE_EXTENT, _clip_norm
from larc_core.envs.geometry import (
    AGENT_RADIUS,
    GOAL_POSE,
    SUCCESS_COVERAGE,
    TEE_COG,
    TEE_NORMALS,
    TEE_OUTLINE,
    block_cog,
    body_to_world,
    distance_to_tee_body,
    rotation,
    tee_coverage,
    world_to_body,
)
from larc_core.envs.pusht import ACTION_SCALE, WALL_HI, WALL_LO
from larc_core.envs.success import wrap_angle

_GYRATION = 40.0  # px: radius of gyration of the T about its centre of gravity (about 39)


def _outline_candidates(spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Contact points (M, 2) every ``spacing`` px along the outline (edge ends excluded by half
    a spacing) and their outward normals (M, 2), body frame."""
    points, normals = [], []
    for i, start in enumerate(TEE_OUTLINE):
        end = TEE_OUTLINE[(i + 1) % len(TEE_OUTLINE)]
        length = float(np.linalg.norm(end - start))
        n = max(1, int(round(length / spacing)))
        t = (np.arange(n) + 0.5) / n
        points.append(start + t[:, None] * (end - start))
        normals.append(np.repeat(TEE_NORMALS[i][None], n, axis=0))
    return np.concatenate(points), np.concatenate(normals)


class StatePusher:
    """State-determined scripted pusher producing relative actions (2,) float32.

    Args:
        rng: accepted for the demonstrator interface; unused (the pusher is deterministic).
        spacing: px between candidate contact points along the T outline.
        standoff: gap (px) between agent disc and outline at a staging spot.
        clearance: extra gap (px) kept from the T while travelling around it.
        distance_penalty: score lost by a staging spot ``sticky_radius`` px or more from the
            agent (linearly less when nearer): keeps the agent on the push it is making.
        sticky_radius: px over which the distance penalty grows.
        push_speed: |action| while pushing far from the goal (agent moves ~45 px/step per unit).
        min_push_speed: |action| floor while pushing close to the goal.
        slow_radius: generalised error (px) below which the push slows down linearly.
        travel_speed: max |action| while travelling.
        lead_in: px out along the normal from a staging spot to the point the agent heads for
            when the spot itself cannot be reached in a straight line (inner corners).
        corridor: px beyond the staging spot, along the push line, where the approach blends
            into the push.
        orbit_sign: direction the agent circles the block in (1: increasing angle, -1:
            decreasing, 0: the shorter way).
        lateral_max: px off the push line beyond which the agent only lines up (no push).
        wall_margin: pushes that would carry the centre of gravity closer than this to a wall
            (and closer than it already is) are excluded.
        done_pos: block position error (px) below which the episode is solved.
        done_angle: block angle error (rad) below which the episode is solved.
        done_coverage: besides, gym-pusht's coverage of the target T must exceed this (None:
            the pose test alone).
    """

    def __init__(
        self,
        rng: np.random.Generator | None = None,
        *,
        spacing: float = 5.0,
        standoff: float = 4.0,
        clearance: float = 8.0,
        distance_penalty: float = 0.3,
        sticky_radius: float = 60.0,
        push_speed: float = 0.25,
        min_push_speed: float = 0.1,
        slow_radius: float = 30.0,
        travel_speed: float = 0.4,
        lead_in: float = 50.0,
        corridor: float = 30.0,
        orbit_sign: int = 1,
        lateral_max: float = 12.0,
        wall_margin: float = 80.0,
        done_pos: float = 8.0,
        done_angle: float = 0.1,
        done_coverage: float | None = SUCCESS_COVERAGE,
    ) -> None:
        self.spacing = spacing
        self.standoff = standoff
        self.clearance = clearance
        self.distance_penalty = distance_penalty
        self.sticky_radius = sticky_radius
        self.push_speed = push_speed
        self.min_push_speed = min_push_speed
        self.slow_radius = slow_radius
        self.travel_speed = travel_speed
        self.lead_in = lead_in
        self.corridor = corridor
        self.orbit_sign = orbit_sign
        self.lateral_max = lateral_max
        self.wall_margin = wall_margin
        self.done_pos = done_pos
        self.done_angle = done_angle
        self.done_coverage = done_coverage
        self._points, self._normals = _outline_candidates(spacing)
        self._stage_b = self._points + self._normals * (AGENT_RADIUS + standoff)
        # Staging spots the agent disc fits in (not in the T's inner corners).
        self._fits = distance_to_tee_body(self._stage_b) >= AGENT_RADIUS + 0.5 * standoff
        lever = self._points - TEE_COG
        push = -self._normals
        # Quasi-static push model in generalised px: (translation x, y, rotation * gyration).
        torque = lever[:, 0] * push[:, 1] - lever[:, 1] * push[:, 0]
        self._motion_b = np.concatenate([push, (torque / _GYRATION)[:, None]], axis=1)
        self._motion_b /= np.linalg.norm(self._motion_b, axis=1, keepdims=True)

    def reset(self) -> None:
        """Nothing to forget: the pusher keeps no state between steps."""

    # -- goal -------------------------------------------------------------------------------
    def errors(self, pose: np.ndarray) -> tuple[np.ndarray, float]:
        """Centre-of-gravity translation error (2,) px and wrapped angle error (rad) of a block
        pose (3,) to :data:`GOAL_POSE`."""
        pose = np.asarray(pose, dtype=np.float64)
        return block_cog(GOAL_POSE) - block_cog(pose), float(wrap_angle(GOAL_POSE[2] - pose[2]))

    def done(self, state: np.ndarray) -> bool:
        """Whether the block of a state (>=5,) sits at the goal pose (position of the body
        origin within ``done_pos`` px, angle within ``done_angle`` rad) and covers more than
        ``done_coverage`` of the target T."""
        pose = np.asarray(state, dtype=np.float64)[2:5]
        pos_err = float(np.linalg.norm(pose[:2] - GOAL_POSE[:2]))
        near = pos_err < self.done_pos and abs(float(wrap_angle(GOAL_POSE[2] - pose[2]))) < (
            self.done_angle
        )
        # The pose test is necessary for coverage > 0.95 and cheap: shapely runs near the goal only.
        return near and (self.done_coverage is None or tee_coverage(pose) > self.done_coverage)

    # -- acting -----------------------------------------------------------------------------
    def _scores(self, agent: np.ndarray, pose: np.ndarray, desired: np.ndarray) -> np.ndarray:
        """Score (M,) of each candidate contact point; -inf where it cannot be used."""
        rot = rotation(pose[2])
        motion_w = self._motion_b.copy()
        motion_w[:, :2] = motion_w[:, :2] @ rot.T  # rotation about z keeps the torque term
        align = motion_w @ (desired / max(float(np.linalg.norm(desired)), 1e-9))
        stage_w = body_to_world(self._stage_b, pose)
        dist = np.linalg.norm(stage_w - agent, axis=1)
        # Saturating: far spots all pay the same, so the choice among them is the alignment
        # alone and cannot flip while the agent travels; near spots keep the current push.
        score = align - self.distance_penalty * np.minimum(dist, self.sticky_radius) / (
            self.sticky_radius
        )
        usable = self._fits & np.all((stage_w >= WALL_LO) & (stage_w <= WALL_HI), axis=1)
        # Wall safety: the centre of gravity must not be pushed into a wall.
        cog = block_cog(pose)
        push_w = motion_w[:, :2]
        ahead = cog + 40.0 * push_w
        wall_now = min(np.min(cog - 5.0), np.min(506.0 - cog))
        wall_next = np.minimum(np.min(ahead - 5.0, axis=1), np.min(506.0 - ahead, axis=1))
        usable &= (wall_next >= self.wall_margin) | (wall_next >= wall_now)
        return np.where(usable, score, -np.inf)

    def _segment_clear(self, a: np.ndarray, b: np.ndarray, pose: np.ndarray,
                       margin: float) -> bool:
        """Whether the agent disc moving from ``a`` to ``b`` keeps ``margin`` px off the T."""
        ends = world_to_body(np.stack([a, b]), pose)
        pts = ends[0] + _SEGMENT_T * (ends[1] - ends[0])
        return bool(np.all(distance_to_tee_body(pts) >= AGENT_RADIUS + margin))

    def _travel(self, agent: np.ndarray, pose: np.ndarray, stage_w: np.ndarray,
                normal_w: np.ndarray) -> np.ndarray:
        """Action toward a staging spot: straight when the way is clear, else via the spot's
        lead-in point out along its normal, orbiting the block to reach that point's bearing."""
        if self._segment_clear(agent, stage_w, pose, 0.5 * self.standoff):
            return _clip_norm((stage_w - agent) / ACTION_SCALE, self.travel_speed)
        lead_in = stage_w + normal_w * self.lead_in
        if self._segment_clear(agent, lead_in, pose, self.clearance):
            return _clip_norm((lead_in - agent) / ACTION_SCALE, self.travel_speed)
        cog = block_cog(pose)
        radius = _TEE_EXTENT + AGENT_RADIUS + self.clearance
        phi_agent = np.arctan2(*(agent - cog)[::-1])
        turn = float(wrap_angle(np.arctan2(*(lead_in - cog)[::-1]) - phi_agent))
        if self.orbit_sign:
            # One way round, always: choosing the shorter way flips the direction where the
            # target is opposite the agent, again opposite actions side by side.
            turn = self.orbit_sign * ((self.orbit_sign * turn) % (2.0 * np.pi))
        phi = phi_agent + np.clip(turn, -np.deg2rad(35.0), np.deg2rad(35.0))
        waypoint = cog + radius * np.array([np.cos(phi), np.sin(phi)])
        return _clip_norm((waypoint - agent) / ACTION_SCALE, self.travel_speed)

    def act(self, state: np.ndarray) -> np.ndarray:
        """Relative action (2,) float32 for a state (>=5,) [ax, ay, bx, by, theta, ...]; the
        agent velocity (state[5:7]) is ignored."""
        state = np.asarray(state, dtype=np.float64)
        agent, pose = state[:2], state[2:5]
        trans_err, angle_err = self.errors(pose)
        desired = np.array([trans_err[0], trans_err[1], angle_err * _GYRATION])
        scores = self._scores(agent, pose, desired)
        if not np.isfinite(scores).any():  # nothing usable: back away from the block
            away = agent - block_cog(pose)
            return _clip_norm(away / max(np.linalg.norm(away), 1e-9) * 0.3, 1.0).astype(
                np.float32
            )
        best = int(np.argmax(scores))
        rot = rotation(pose[2])
        normal_w = rot @ self._normals[best]
        point_w = body_to_world(self._points[best], pose)
        stage_w = body_to_world(self._stage_b[best], pose)
        rel = agent - point_w
        along = float(rel @ normal_w)  # distance out of the outline along the normal
        lateral = rel - along * normal_w
        lat = float(np.linalg.norm(lateral))
        in_corridor = (
            AGENT_RADIUS - 6.0 <= along <= AGENT_RADIUS + self.standoff + self.corridor
            and lat <= self.lateral_max
        )
        if in_corridor:
            # In the approach corridor the action blends continuously from holding at the
            # staging distance (off the line) to pushing (on it): a hard switch between pushing
            # in and backing out would put opposite actions side by side in state space, which
            # behaviour cloning averages to a standstill.
            err = float(np.linalg.norm(desired))
            speed = max(self.min_push_speed, self.push_speed * min(1.0, err / self.slow_radius))
            on_line = float(np.clip((self.lateral_max - lat) / (self.lateral_max - 4.0), 0.0, 1.0))
            hold = np.clip((AGENT_RADIUS + self.standoff - along) / ACTION_SCALE,
                           -self.travel_speed, self.travel_speed)
            action = normal_w * (on_line * -speed + (1.0 - on_line) * hold) - lateral / ACTION_SCALE
        else:
            action = self._travel(agent, pose, stage_w, normal_w)
        return _clip_norm(np.asarray(action, dtype=np.float64), 1.0).astype(np.float32)
