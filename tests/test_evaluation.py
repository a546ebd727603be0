"""Evaluation pairs and closed-loop episodes in the real simulator."""

from __future__ import annotations

import json

import numpy as np
import pytest

from larc_core.data import DemoFile
from larc_core.envs import PushTEnv, goal_reached
from larc_core.evaluation.controller import NoOpController, ReplayController
from larc_core.evaluation.latency import time_calls
from larc_core.evaluation.pairs import candidate_starts, draw_pairs, write_pairs
from larc_core.evaluation.rollout import run_episode, run_episodes, worker_count


@pytest.fixture(scope="module")
def demo_path(demo_file):
    return demo_file


def test_pairs_are_validation_only_nontrivial_and_seeded(demo_path, tmp_path):
    with DemoFile(demo_path) as demo:
        val_eps = set(np.asarray(demo.val_episodes).tolist())
        state = np.asarray(demo.state)
        starts = candidate_starts(demo, 25)
        assert len(starts) > 0
        assert not np.any(goal_reached(state[starts], state[starts + 25]))
        pairs = draw_pairs(demo, 25, 5, seed=42)
        ep = np.asarray(demo.episode_idx)
    assert all(p["episode"] in val_eps for p in pairs)
    assert all(ep[p["goal_row"]] == p["episode"] for p in pairs)
    a = write_pairs(demo_path, 25, 5, 42, tmp_path / "a.json")
    b = write_pairs(demo_path, 25, 5, 42, tmp_path / "b.json")
    assert a["pairs"] == b["pairs"] and a["budget"] == 50
    assert json.loads((tmp_path / "a.json").read_text())["pairs"] == pairs
    with DemoFile(demo_path) as demo, pytest.raises(ValueError, match="non-trivial"):
        draw_pairs(demo, 25, 10_000, seed=42)


def test_replay_from_episode_start_reaches_goal_and_noop_does_not(demo_path):
    with DemoFile(demo_path) as demo:
        e = int(demo.val_episodes[0])
        s = int(demo.ep_offset[e])
        state, actions = np.asarray(demo.state), np.asarray(demo.action)
        g = s + 30
        goal_frame = demo.frames(np.array([g]))[0]
    with PushTEnv(resolution=32) as env:
        replay = ReplayController(actions, offset=30)
        rec = run_episode(env, replay, state[s], state[g], goal_frame, 60, start_row=s)
        assert rec["success"] and rec["steps_to_success"] <= 30
        if not goal_reached(state[s], state[g]):
            noop = run_episode(env, NoOpController(), state[s], state[g], goal_frame, 60, s)
            assert not noop["success"] and noop["steps"] == 60
            # The agent really held still: the final agent position is the start position.
            assert np.allclose(noop["final_state"][:2], state[s, :2], atol=1e-6)


def test_time_calls_reports_order_statistics():
    t = time_calls(lambda: sum(range(1000)), warmup=2, calls=20)
    assert 0 < t["median_ms"] <= t["p95_ms"] and t["calls"] == 20


class _CountingController(NoOpController):
    """No-op that reports how often it was asked (the rollout copies it into the record)."""

    def reset(self, goal_frame, start_row):
        self.calls = 0

    def act(self, frame):
        self.calls += 1
        return super().act(frame)

    def episode_info(self):
        return {"calls": self.calls}


def test_records_carry_controller_info_and_pair_order(demo_path):
    with DemoFile(demo_path) as demo:
        pairs = draw_pairs(demo, 25, 3, seed=42)
        frames = demo.frames(np.array([p["goal_row"] for p in pairs]))
    with PushTEnv(resolution=32) as env:
        recs = run_episodes(env, _CountingController(), pairs, frames, 50, progress=False)
    assert [r["index"] for r in recs] == [0, 1, 2]
    assert [r["start_row"] for r in recs] == [p["start_row"] for p in pairs]
    assert all(r["controller"] == {"calls": r["steps"]} for r in recs)


def test_worker_count_is_bounded_by_pairs_and_cores():
    import os

    cores = os.cpu_count() or 1
    assert worker_count(1, 50) == 1
    assert worker_count(8, 3, min_pairs=1) == min(3, cores)
    assert worker_count(8, 3) == 1  # 3 pairs: starting workers would cost more than it saves
    assert worker_count(2, 50) == min(2, cores)
    assert worker_count(0, 5) == 1


def test_state_ceiling_features_and_block_test():
    """The ceiling's features read the pose only (no velocity), and its block-only test ignores
    the agent but not the block's angle."""
    from larc_core.evaluation.state_ceiling import block_reached, state_features

    s = np.array([356.0, 156.0, 256.0, 306.0, np.pi / 2, 7.0, -3.0])
    f = state_features(s[None])[0]
    np.testing.assert_allclose(f, [1.0, -1.0, 0.0, 0.5, 1.0, 0.0], atol=1e-6)
    moved = s.copy()
    moved[5:] = 0.0
    np.testing.assert_array_equal(state_features(moved[None]), state_features(s[None]))
    goal = s.copy()
    goal[:2] = [10.0, 10.0]  # the agent far away: the block alone is at its goal
    assert block_reached(s, goal)
    goal[4] += 0.5  # the block turned by 0.5 rad: not reached
    assert not block_reached(s, goal)


def test_state_ceiling_runs_pairs_with_the_latched_success_test():
    """A pair whose start already meets the goal's block pose succeeds only when the agent also
    gets there; a do-nothing actor on a far goal fails after the whole budget."""
    from larc_core.evaluation.state_ceiling import run_state_pairs

    start = [200.0, 200.0, 256.0, 256.0, np.pi / 4, 0.0, 0.0]
    pairs = [
        {"start_row": 0, "start_state": start, "goal_state": start},
        {"start_row": 1, "start_state": start,
         "goal_state": [200.0, 200.0, 300.0, 300.0, 0.0, 0.0, 0.0]},
    ]
    recs = run_state_pairs(lambda state, goal: np.zeros(2), pairs, budget=6)
    assert recs[0]["success"] and recs[0]["steps"] == 1
    assert not recs[1]["success"] and not recs[1]["block_success"] and recs[1]["steps"] == 6
