"""gym-pusht 0.1.8 behind LeWM's conventions: relative actions, 7-d state, exact set-state.

LeWM's PushT differs from raw gym-pusht in three ways this wrapper reproduces:
- actions are RELATIVE: PD target = agent position + ``ACTION_SCALE`` * action;
- targets are clipped to [``WALL_LO``, ``WALL_HI``] per axis (raw gym-pusht lets the kinematic
  agent pass through the walls);
- the state is 7-d: [agent x, agent y, block x, block y, block angle, agent vx, agent vy].

The block angle is reported as pymunk holds it (not wrapped to [0, 2 pi) like gym-pusht's
``obs_type="state"``), so ``reset_to_state(s).state == s`` holds for any angle. Compare angles
with :func:`larc_core.envs.success.pose_errors`, which wraps.
"""

from __future__ import annotations

import os

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import cv2  # noqa: E402
import gym_pusht.envs  # noqa: E402, F401  (imported for its side effect: registers PushT-v0)
import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import pygame  # noqa: E402
from pymunk.vec2d import Vec2d  # noqa: E402

ENV_ID = "gym_pusht/PushT-v0"
ACTION_SCALE = 100.0
WALL_LO = 20.0
WALL_HI = 492.0
# gym-pusht sets the block angle after its position, turning it about the centre of gravity,
# which sits this far down the stem from the body origin (see ``PushTEnv.add_tee``).
_COG_OFFSET = 45.0


def relative_to_target(agent_xy: np.ndarray, action: np.ndarray, clip: bool = True) -> np.ndarray:
    """Absolute PD target (..., 2) = agent_xy + ACTION_SCALE * action, clipped to the walls."""
    target = np.asarray(agent_xy, dtype=np.float64) + ACTION_SCALE * np.asarray(
        action, dtype=np.float64
    )
    return np.clip(target, WALL_LO, WALL_HI) if clip else target


def target_to_relative(agent_xy: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Relative action (..., 2) float32 that puts the PD target at ``target`` (no clipping)."""
    rel = (np.asarray(target, dtype=np.float64) - np.asarray(agent_xy, dtype=np.float64))
    return (rel / ACTION_SCALE).astype(np.float32)


def reset_to_state_request(state: np.ndarray) -> np.ndarray:
    """The 5-vector to pass as gym-pusht's ``reset_to_state`` so it lands exactly on ``state``.

    gym-pusht assigns the block position first and then the angle, which turns the block about
    its centre of gravity (0, 45) in the body frame and shifts the origin by
    (45 sin(theta), 45 (1 - cos(theta))); the request pre-subtracts that shift.
    """
    ax, ay, bx, by, theta = (float(v) for v in np.asarray(state, dtype=np.float64)[:5])
    return np.array(
        [
            ax,
            ay,
            bx - _COG_OFFSET * np.sin(theta),
            by - _COG_OFFSET * (1.0 - np.cos(theta)),
            theta,
        ]
    )


def _check_vector(x: np.ndarray, name: str, sizes: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] not in sizes:
        expected = " or ".join(f"({n},)" for n in sizes)
        raise ValueError(f"{name} must have shape {expected}; got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; got {arr}")
    return arr


class PushTEnv:
    """gym-pusht's PushT driven directly (no TimeLimit wrapper), with LeWM conventions.

    The underlying env is built with ``obs_type="state"`` so ``step`` never renders; ``render``
    produces exactly the pixel observation gym-pusht returns for ``obs_type="pixels"`` at
    ``resolution`` x ``resolution`` (its ``_render(visualize=False)``), including the fixed
    green goal T.

    Args:
        resolution: side of the rendered square frame in pixels.
        render: allow :meth:`render`; with False the env is state-only.
    """

    def __init__(self, resolution: int = 64, render: bool = True) -> None:
        if int(resolution) <= 0:
            raise ValueError(f"resolution must be a positive int; got {resolution}")
        self.resolution = int(resolution)
        self.render_enabled = bool(render)
        self._gym_env = gym.make(
            ENV_ID,
            obs_type="state",
            observation_width=self.resolution,
            observation_height=self.resolution,
            disable_env_checker=True,
        )
        self._env = self._gym_env.unwrapped
        self._env.reset(seed=0)  # builds the physics space so `state` is always defined

    # -- state -----------------------------------------------------------------------------
    @property
    def state(self) -> np.ndarray:
        """(7,) float32 [ax, ay, bx, by, theta, vx, vy] read from the physics."""
        agent, block = self._env.agent, self._env.block
        return np.array(
            [*agent.position, *block.position, block.angle, *agent.velocity], dtype=np.float32
        )

    @property
    def agent_xy(self) -> np.ndarray:
        """(2,) float64 agent position, full precision (the PD controller's reference)."""
        return np.array(self._env.agent.position, dtype=np.float64)

    # -- resets ----------------------------------------------------------------------------
    def reset_to_state(self, state: np.ndarray) -> np.ndarray:
        """Set the env exactly to a LeWM state (7,) or (5,); returns the (7,) state.

        Velocities (agent and block) become zero, so only episode-start states (or states of a
        resting block) reproduce a recorded rollout when actions are replayed.
        """
        state = _check_vector(state, "state", (5, 7))
        self._env.reset(options={"reset_to_state": reset_to_state_request(state)})
        return self.state

    def reset_random(self, seed: int) -> np.ndarray:
        """Random initial state exactly as gym-pusht draws it from ``seed``; returns (7,)."""
        self._env.reset(seed=int(seed))
        return self.state

    # -- stepping --------------------------------------------------------------------------
    def step(self, action: np.ndarray) -> np.ndarray:
        """One env step (10 physics substeps) with a RELATIVE action (2,); returns (7,).

        The action is rounded to float32 first, as it is stored, so replaying a recorded
        action reproduces the recorded step bit for bit.
        """
        action = _check_vector(action, "action", (2,)).astype(np.float32)
        return self.step_target(relative_to_target(self.agent_xy, action))

    def step_target(self, target: np.ndarray) -> np.ndarray:
        """One env step toward an ABSOLUTE PD target (2,), clipped to the walls; returns (7,)."""
        target = np.clip(_check_vector(target, "target", (2,)), WALL_LO, WALL_HI)
        self._physics_step(target)
        return self.state

    def _physics_step(self, target: np.ndarray) -> None:
        """gym-pusht 0.1.8's ``PushTEnv.step`` minus its reward: the same PD control and physics
        expression for expression (bit-identical states, checked in the tests), without the
        shapely coverage computation that costs about half of a state-only step."""
        env = self._env
        env._last_action = target
        for _ in range(int(1 / (env.dt * env.control_hz))):
            acceleration = env.k_p * (target - env.agent.position) + env.k_v * (
                Vec2d(0, 0) - env.agent.velocity
            )
            env.agent.velocity += acceleration * env.dt
            env.space.step(env.dt)

    # -- pixels ----------------------------------------------------------------------------
    def render(self) -> np.ndarray:
        """(resolution, resolution, 3) uint8 HWC frame, identical to gym-pusht's pixel obs.

        gym-pusht's own ``_get_img`` copies the 512 x 512 surface through a strided
        ``surfarray`` view (about 6 ms, most of an evaluation step); reading the surface's bytes
        row-major gives the same HWC array in a third of the time, and the same ``cv2.resize``
        call then yields the same pixels (tested against gym-pusht's observation).
        """
        return cv2.resize(self._screen(), (self.resolution, self.resolution))

    def _screen(self) -> np.ndarray:
        """gym-pusht's 512 x 512 drawing as an HWC uint8 array."""
        if not self.render_enabled:
            raise RuntimeError("PushTEnv was created with render=False; it cannot render frames")
        screen = self._env._draw()
        w, h = screen.get_size()
        return np.frombuffer(pygame.image.tobytes(screen, "RGB"), dtype=np.uint8).reshape(h, w, 3)

    def render_size(self, size: int) -> np.ndarray:
        """(size, size, 3) uint8 HWC frame of the same scene at another side (videos: the
        simulator's 512 px drawing resized, not the policy's frame upscaled)."""
        hwc = self._screen()
        if int(size) == hwc.shape[0]:
            return hwc.copy()
        return cv2.resize(hwc, (int(size), int(size)), interpolation=cv2.INTER_AREA)

    # -- gym-pusht's own task ---------------------------------------------------------------
    def coverage(self) -> float:
        """gym-pusht's coverage: the share of the green goal T's area the block covers (its own
        shapely computation; its task is solved when this exceeds 0.95)."""
        return float(self._env._get_coverage())

    # -- lifetime --------------------------------------------------------------------------
    def close(self) -> None:
        """Release the underlying gym env."""
        self._gym_env.close()

    def __enter__(self) -> PushTEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
