"""A scripted "random pusher" for PushT demonstrations (REFERENCE section 6).

Uniform random actions almost never touch the block, so goals drawn from such data are
trivial. This pusher repeatedly: picks a random point on the T outline, travels around the
block at a safe radius to a point outside it on the outward normal, approaches along the normal,
pushes through toward / past the centre for a few steps with small jitter, and backs off.
Pushes predicted to bring the block's centre of gravity within ``wall_margin`` px of a wall are
rejected, because the kinematic agent can squeeze the block through a wall.

All decisions depend only on the 7-d state and the generator, so an episode is reproducible
from its seed.
"""

from __future__ import annotations

import numpy as np

from larc_core.envs.geometry import (
    AGENT_RADIUS,
    TEE_COG,
    TEE_EDGE_LENGTHS,
    TEE_NORMALS,
    TEE_OUTLINE,
    block_cog,
    body_to_world,
    distance_to_tee_body,
    rotation,
    world_to_body,
)
from larc_core.envs.pusht import ACTION_SCALE, WALL_HI, WALL_LO

# Wall segments of gym-pusht run along x, y = 5 and x, y = 506.
_WALL_INNER_LO, _WALL_INNER_HI = 5.0, 506.0
_TEE_EXTENT = 75.0  # farthest T point from its centre of gravity
_PD_GAIN_PER_STEP = 45.0  # rough agent px per step per unit of sustained relative action
_SEGMENT_T = np.linspace(0.0, 1.0, 16)[:, None]


def _clip_norm(v: np.ndarray, max_norm: float) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v if n <= max_norm or n == 0.0 else v * (max_norm / n)


def _wall_distance(xy: np.ndarray) -> float:
    return float(min(np.min(xy - _WALL_INNER_LO), np.min(_WALL_INNER_HI - xy)))


def _angle(v: np.ndarray) -> float:
    return float(np.arctan2(v[1], v[0]))


def _wrap(a: float) -> float:
    return float((a + np.pi) % (2.0 * np.pi) - np.pi)


class RandomPusher:
    """Scripted pusher producing relative actions (2,) float32 with norm <= ``max_action``.

    Args:
        rng: the only source of randomness.
        push_steps: inclusive range of the number of push steps per push.
        push_speed: range of |action| while pushing (agent moves ~45 px/step per unit).
        travel_speed: max |action| while travelling around the block.
        jitter: std of the Gaussian noise added to push actions.
        standoff: gap (px) between agent disc and T at the staging point before a push.
        clearance: extra gap (px) kept from the T while travelling around it.
        wall_margin: reject pushes predicted to move the centre of gravity closer than this to a
            wall (unless they move it away from the walls).
        max_travel_steps: give up on a target point after this many travel steps.
        retreat_steps: steps spent backing off after each push.
        max_action: norm cap on every action (1 = PD target 100 px away).
    """

    def __init__(
        self,
        rng: np.random.Generator,
        *,
        push_steps: tuple[int, int] = (4, 19),
        push_speed: tuple[float, float] = (0.25, 0.5),
        travel_speed: float = 0.8,
        jitter: float = 0.04,
        standoff: float = 8.0,
        clearance: float = 10.0,
        wall_margin: float = 90.0,
        max_travel_steps: int = 40,
        retreat_steps: int = 2,
        max_action: float = 1.0,
    ) -> None:
        self.rng = rng
        self.push_steps = push_steps
        self.push_speed = push_speed
        self.travel_speed = travel_speed
        self.jitter = jitter
        self.standoff = standoff
        self.clearance = clearance
        self.wall_margin = wall_margin
        self.max_travel_steps = max_travel_steps
        self.retreat_steps = retreat_steps
        self.max_action = max_action
        self.reset()

    def reset(self) -> None:
        """Forget the current plan (call at the start of every episode)."""
        self._phase = "plan"
        self._phase_steps = 0
        self._plan: dict[str, np.ndarray | float | int] = {}

    @property
    def phase(self) -> str:
        """Current phase: plan, travel, approach, push or retreat."""
        return self._phase

    # -- planning ---------------------------------------------------------------------------
    def _sample_candidate(self, agent: np.ndarray, pose: np.ndarray) -> dict:
        """A random push (see :meth:`_candidate`), outline points uniform along the outline."""
        edge = self.rng.choice(len(TEE_OUTLINE), p=TEE_EDGE_LENGTHS / TEE_EDGE_LENGTHS.sum())
        t = self.rng.uniform(0.0, 1.0)
        blend = self.rng.uniform(0.0, 1.0)
        steps = int(self.rng.integers(self.push_steps[0], self.push_steps[1] + 1))
        speed = float(self.rng.uniform(*self.push_speed))
        return self._candidate(pose, int(edge), t, blend, steps, speed)

    def _candidate(self, pose: np.ndarray, edge: int, t: float, blend: float, steps: int,
                   speed: float) -> dict:
        """The push from point ``t`` of outline edge ``edge``, heading between straight in
        (``blend`` 0) and toward the centre of gravity (1), with its staging points and
        reachability / wall-safety verdicts."""
        nxt = TEE_OUTLINE[(edge + 1) % len(TEE_OUTLINE)]
        p_b = TEE_OUTLINE[edge] + t * (nxt - TEE_OUTLINE[edge])
        n_b = TEE_NORMALS[edge]
        to_cog = TEE_COG - p_b
        to_cog = to_cog / max(float(np.linalg.norm(to_cog)), 1e-9)
        d_b = -n_b + blend * to_cog
        d_b /= np.linalg.norm(d_b)
        stage = AGENT_RADIUS + self.standoff
        cand = {
            "p_b": p_b, "n_b": n_b, "d_b": d_b, "steps": steps, "speed": speed,
            "stage_b": p_b + n_b * stage, "far_b": p_b + n_b * (stage + 25.0),
        }
        # Reachable: the agent disc fits at both staging points (not in the T's inner corners).
        ok = bool(
            distance_to_tee_body(cand["stage_b"]) >= AGENT_RADIUS + 0.5 * self.standoff
            and distance_to_tee_body(cand["far_b"]) >= AGENT_RADIUS + 0.5 * self.standoff
        )
        if ok:
            w = body_to_world(np.stack([cand["stage_b"], cand["far_b"]]), pose)
            ok = bool(np.all(w >= WALL_LO + 2.0) and np.all(w <= WALL_HI - 2.0))
        # Wall safety: where the centre of gravity ends up if the push carries the block.
        cog = block_cog(pose)
        d_w = rotation(pose[2]) @ d_b
        carry = max(0.0, steps * _PD_GAIN_PER_STEP * speed - self.standoff)
        before, after = _wall_distance(cog), _wall_distance(cog + d_w * carry)
        cand["safe"] = after >= self.wall_margin or after > before + 1.0
        cand["score"] = after
        cand["ok"] = ok
        return cand

    def _new_plan(self, agent: np.ndarray, pose: np.ndarray) -> None:
        best = None
        for _ in range(30):
            cand = self._sample_candidate(agent, pose)
            if cand["ok"] and cand["safe"]:
                best = cand
                break
            if cand["ok"] and (best is None or cand["score"] > best["score"]):
                best = cand  # fallback: the reachable push that ends farthest from the walls
        if best is None:
            best = cand
        self._commit(best, agent, pose)

    def _commit(self, plan: dict, agent: np.ndarray, pose: np.ndarray) -> None:
        """Adopt ``plan`` and start travelling round the block the short way to its start."""
        far_w = body_to_world(plan["far_b"], pose)
        delta = _wrap(_angle(far_w - block_cog(pose)) - _angle(agent - block_cog(pose)))
        plan["sign"] = 1.0 if delta >= 0.0 else -1.0
        self._plan = plan
        self._set_phase("travel")

    def _set_phase(self, phase: str) -> None:
        self._phase = phase
        self._phase_steps = 0

    # -- acting -----------------------------------------------------------------------------
    def _segment_clear(self, a: np.ndarray, b: np.ndarray, pose: np.ndarray) -> bool:
        ends = world_to_body(np.stack([a, b]), pose)  # rigid map: sample in the body frame
        pts = ends[0] + _SEGMENT_T * (ends[1] - ends[0])
        return bool(np.all(distance_to_tee_body(pts) >= AGENT_RADIUS + 0.5 * self.clearance))

    def _toward(self, agent: np.ndarray, waypoint: np.ndarray, speed: float) -> np.ndarray:
        return _clip_norm((waypoint - agent) / ACTION_SCALE, speed)

    def _travel(self, agent: np.ndarray, pose: np.ndarray) -> np.ndarray | None:
        far_w = body_to_world(self._plan["far_b"], pose)
        if np.linalg.norm(far_w - agent) < 10.0:
            self._set_phase("approach")
            return None
        if self._phase_steps > self.max_travel_steps:
            self._set_phase("plan")
            return None
        if self._segment_clear(agent, far_w, pose):
            return self._toward(agent, far_w, self.travel_speed)
        # Blocked by the T: step along a circle around the centre of gravity that clears it.
        cog = block_cog(pose)
        radius = _TEE_EXTENT + AGENT_RADIUS + self.clearance
        phi = _angle(agent - cog) + self._plan["sign"] * np.deg2rad(40.0)
        waypoint = cog + radius * np.array([np.cos(phi), np.sin(phi)])
        return self._toward(agent, waypoint, self.travel_speed)

    def _approach(self, agent: np.ndarray, pose: np.ndarray) -> np.ndarray | None:
        stage_w = body_to_world(self._plan["stage_b"], pose)
        if np.linalg.norm(stage_w - agent) < 4.0 or self._phase_steps >= 8:
            self._plan["d_w"] = rotation(pose[2]) @ self._plan["d_b"]  # frozen for the push
            self._set_phase("push")
            return None
        return self._toward(agent, stage_w, 0.5 * self.travel_speed)

    def _push(self, agent: np.ndarray, pose: np.ndarray) -> np.ndarray | None:
        d_w = self._plan["d_w"]
        cog = block_cog(pose)
        near_wall = _wall_distance(cog) < 0.6 * self.wall_margin
        heading_out = _wall_distance(cog + 10.0 * d_w) < _wall_distance(cog)
        if self._phase_steps >= self._plan["steps"] or (near_wall and heading_out):
            self._set_phase("retreat")
            return None
        noise = self.rng.normal(0.0, self.jitter, size=2)
        return d_w * self._plan["speed"] + noise

    def _retreat(self, agent: np.ndarray, pose: np.ndarray) -> np.ndarray | None:
        if self._phase_steps >= self.retreat_steps:
            self._set_phase("plan")
            return None
        return -0.3 * self._plan["d_w"]

    def act(self, state: np.ndarray) -> np.ndarray:
        """Relative action (2,) float32 for a 7-d state [ax, ay, bx, by, theta, vx, vy]."""
        state = np.asarray(state, dtype=np.float64)
        agent, pose = state[:2], state[2:5]
        handlers = {
            "travel": self._travel, "approach": self._approach,
            "push": self._push, "retreat": self._retreat,
        }
        action = None
        for _ in range(8):  # phase changes are immediate; a few hops at most
            if self._phase == "plan":
                self._new_plan(agent, pose)
            action = handlers[self._phase](agent, pose)
            if action is not None:
                break
        if action is None:  # defensive: never reached with the phases above
            action = np.zeros(2)
        self._phase_steps += 1
        return _clip_norm(np.asarray(action, dtype=np.float64), self.max_action).astype(np.float32)
