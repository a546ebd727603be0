"""PushT wrapper: exact set-state, LeWM relative actions, success test, determinism."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

from larc_core.data.pusher import RandomPusher
from larc_core.envs import (
    ACTION_SCALE,
    ANGLE_TOL,
    POS_TOL,
    WALL_HI,
    WALL_LO,
    PushTEnv,
    goal_reached,
    pose_errors,
    relative_to_target,
    target_to_relative,
)
from larc_core.envs.geometry import TEE_COG, TEE_OUTLINE, TEE_RECTS, body_to_world, in_contact


@pytest.fixture(scope="module")
def env() -> PushTEnv:
    with PushTEnv(resolution=32) as e:
        yield e


def _physics(env: PushTEnv) -> np.ndarray:
    """Full-precision agent/block pose and velocities straight from pymunk."""
    raw = env._env
    return np.array(
        [*raw.agent.position, *raw.block.position, raw.block.angle, *raw.agent.velocity,
         *raw.block.velocity, raw.block.angular_velocity]
    )


def test_tee_geometry_matches_installed_gym_pusht(env: PushTEnv) -> None:
    env.reset_random(11)
    raw = env._env
    assert tuple(raw.block.center_of_gravity) == tuple(TEE_COG)
    rects = []
    for shape in raw._block_shapes:
        v = np.array([tuple(p) for p in shape.get_vertices()])
        rects.append([*v.min(0), *v.max(0)])
    np.testing.assert_array_equal(np.array(rects), TEE_RECTS)
    pose = env.state[2:5].astype(np.float64)
    keypoints = raw.get_keypoints(raw._block_shapes)  # (8, 2) world corners of both rectangles
    corners = np.array([[x, y] for x0, y0, x1, y1 in TEE_RECTS for x, y in
                        ((x0, y1), (x1, y1), (x1, y0), (x0, y0))])
    world = body_to_world(corners, pose)
    for kp in keypoints:  # same corner set (pymunk orders vertices its own way)
        assert np.min(np.linalg.norm(world - kp, axis=1)) < 1e-3
    assert TEE_OUTLINE.shape == (8, 2)


@pytest.mark.parametrize("theta", [0.0, 0.7, -2.9, 3.14159, 5.5, -7.3, 12.0])
def test_reset_to_state_round_trip_is_exact(env: PushTEnv, theta: float) -> None:
    rng = np.random.default_rng(int(abs(theta) * 1000))
    for _ in range(3):
        s = np.array([*rng.uniform(60, 450, 2), *rng.uniform(110, 400, 2), theta, 30.0, -40.0],
                     dtype=np.float32)
        got = env.reset_to_state(s)
        assert got.dtype == np.float32 and got.shape == (7,)
        # float64 physics lands within ~1e-13 px of the request: float32 read-back is exact.
        np.testing.assert_array_equal(got[:5], s[:5])
        np.testing.assert_array_equal(got[5:], [0.0, 0.0])  # velocities reset to zero
        np.testing.assert_array_equal(env.reset_to_state(s[:5])[:5], s[:5])


def test_reset_to_state_rejects_bad_shapes(env: PushTEnv) -> None:
    with pytest.raises(ValueError, match=r"state must have shape \(5,\) or \(7,\); got \(4,\)"):
        env.reset_to_state(np.zeros(4))
    with pytest.raises(ValueError, match="finite"):
        env.reset_to_state(np.array([1, 2, 3, 4, np.nan]))
    with pytest.raises(ValueError, match=r"action must have shape \(2,\)"):
        env.step(np.zeros(3))


def test_success_test_hand_made_cases() -> None:
    goal = np.array([200.0, 200.0, 256.0, 256.0, math.pi / 4, 0.0, 0.0])

    def moved(dx: float = 0.0, dtheta: float = 0.0) -> np.ndarray:
        s = goal.copy()
        s[2] += dx
        s[4] += dtheta
        return s

    assert goal_reached(goal, goal) is True
    assert goal_reached(moved(dx=POS_TOL - 0.01), goal) is True
    assert goal_reached(moved(dx=POS_TOL + 0.01), goal) is False
    assert goal_reached(moved(dtheta=ANGLE_TOL - 1e-3), goal) is True
    assert goal_reached(moved(dtheta=-(ANGLE_TOL + 1e-3)), goal) is False
    # Position error spreads over all four coordinates (agent and block).
    spread = goal.copy()
    spread[:4] += 10.5  # norm 21 > 20
    assert goal_reached(spread, goal) is False
    # Wrap-around: pi - 0.1 and -pi + 0.1 are 0.2 apart, as are theta and theta + 2 pi k.
    a, b = goal.copy(), goal.copy()
    a[4], b[4] = math.pi - 0.1, -math.pi + 0.1
    pos_err, ang_err = pose_errors(a, b)
    assert pos_err == 0.0 and ang_err == pytest.approx(0.2)
    assert goal_reached(a, b) is True
    assert goal_reached(moved(dtheta=4 * math.pi + 0.1), goal) is True
    _, opposite = pose_errors(moved(dtheta=math.pi), goal)
    assert opposite == pytest.approx(math.pi)
    # Batches broadcast against one goal; 5-d and 7-d states mix.
    batch = np.stack([moved(), moved(dx=25.0), moved(dtheta=0.5), moved(dtheta=-6.2)])
    np.testing.assert_array_equal(goal_reached(batch, goal[:5]), [True, False, False, True])
    pos_err, ang_err = pose_errors(batch, goal)
    assert pos_err.shape == ang_err.shape == (4,)
    assert np.all((ang_err >= 0) & (ang_err <= math.pi))
    with pytest.raises(ValueError, match="cur must have shape"):
        pose_errors(np.zeros(4), goal)


def test_relative_action_semantics(env: PushTEnv) -> None:
    agent = np.array([100.0, 300.0])
    np.testing.assert_allclose(relative_to_target(agent, [0.5, -1.0]), [150.0, 200.0])
    np.testing.assert_allclose(relative_to_target(agent, [-2.0, 3.0]), [WALL_LO, WALL_HI])
    np.testing.assert_allclose(target_to_relative(agent, [150.0, 200.0]), [0.5, -1.0])
    assert ACTION_SCALE == 100.0

    env.reset_to_state([100.0, 300.0, 300.0, 150.0, 0.0])
    env.step(np.array([0.25, -0.5], dtype=np.float32))
    np.testing.assert_allclose(env._env._last_action, [125.0, 250.0])  # the PD target used
    env.reset_to_state([30.0, 480.0, 300.0, 150.0, 0.0])
    env.step(np.array([-1.0, 1.0]))
    np.testing.assert_allclose(env._env._last_action, [WALL_LO, WALL_HI])
    env.step_target(np.array([-50.0, 600.0]))
    np.testing.assert_allclose(env._env._last_action, [WALL_LO, WALL_HI])
    assert np.all(env.state[:2] >= WALL_LO - 1.0) and np.all(env.state[:2] <= WALL_HI + 1.0)


def test_step_is_bit_identical_to_gym_pusht_step() -> None:
    ours, theirs = PushTEnv(render=False), PushTEnv(render=False)
    pusher = RandomPusher(np.random.default_rng(3))
    ours.reset_random(21)
    theirs.reset_random(21)
    for _ in range(80):
        target = relative_to_target(ours.agent_xy, pusher.act(ours.state))
        ours.step_target(target)
        theirs._env.step(target)  # gym-pusht's own step (with its reward computation)
        np.testing.assert_array_equal(_physics(ours), _physics(theirs))
    ours.close()
    theirs.close()


def test_replay_from_recorded_start_reproduces_states(env: PushTEnv) -> None:
    pusher = RandomPusher(np.random.default_rng(5))
    env.reset_to_state(env.reset_random(5))  # start at the float32 state that is recorded
    states, actions = [env.state], []
    for _ in range(60):
        actions.append(pusher.act(states[-1]))
        states.append(env.step(actions[-1]))
    states = np.array(states)
    assert in_contact(states).any(), "the rollout should push the block"
    assert np.linalg.norm(states[-1, 2:4] - states[0, 2:4]) > 1.0
    env.reset_random(999)  # scramble
    replay = [env.reset_to_state(states[0])]
    for a in actions:
        replay.append(env.step(a))
    np.testing.assert_allclose(np.array(replay), states, rtol=0, atol=1e-5)


def test_same_seed_and_actions_give_identical_states_and_frames() -> None:
    actions = np.random.default_rng(0).uniform(-0.6, 0.6, size=(25, 2)).astype(np.float32)
    runs = []
    for _ in range(2):
        with PushTEnv(resolution=32) as e:
            e.reset_random(1234)
            states, frames = [e.state], [e.render()]
            for a in actions:
                states.append(e.step(a))
                frames.append(e.render())
            runs.append((np.array(states), np.array(frames)))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert runs[0][1].shape == (26, 32, 32, 3) and runs[0][1].dtype == np.uint8


def test_render_equals_gym_pusht_pixel_observation(env: PushTEnv) -> None:
    raw = gym.make("gym_pusht/PushT-v0", obs_type="pixels", observation_width=32,
                   observation_height=32)
    obs, _ = raw.reset(seed=77)
    env.reset_random(77)
    np.testing.assert_array_equal(env.render(), obs)
    target = np.array([200.0, 220.0])
    obs, *_ = raw.step(target)
    env.step_target(target)
    np.testing.assert_array_equal(env.render(), obs)
    raw.close()
    # The fast byte copy against gym-pusht's own image path, over many poses and the sizes
    # in use (smoke 32, default 64, LeWM 224, which is not a divisor of 512).
    rng = np.random.default_rng(3)
    for size in (32, 64, 96, 224):
        with PushTEnv(resolution=size) as other:
            other.reset_random(size)
            for _ in range(40):
                other.step_target(rng.uniform(WALL_LO, WALL_HI, size=2))
                np.testing.assert_array_equal(other.render(), other._env._render(visualize=False))
    frame = env.render()
    assert frame.shape == (32, 32, 3) and frame.dtype == np.uint8
    with PushTEnv(resolution=32, render=False) as blind, pytest.raises(RuntimeError):
        blind.render()
