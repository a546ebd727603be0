"""Counterfactual prediction and the planning diagnosis on a tiny file and a random world model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from larc_core.data import DemoFile
from larc_core.envs import PushTEnv
from larc_core.evaluation.counterfactual import (
    ACTION_KINDS,
    _execute,
    counterfactual_prediction,
    counterfactual_starts,
    planning_diagnosis,
)
from larc_core.planning import CEMConfig
from larc_core.world_model import load_world_model


@pytest.fixture(scope="module")
def tiny(tiny_latents):
    root, _ = tiny_latents
    torch.manual_seed(0)
    return root / "demos.h5", load_world_model(root / "wm.pt").freeze()


def test_executed_sequences_are_the_recorded_ones(tiny) -> None:
    """From an episode's first row (velocities zero, as the reset leaves them) the recorded
    actions executed by the measurement land exactly on the recorded frame 25 steps later."""
    demo_path, _ = tiny
    with DemoFile(demo_path) as demo, PushTEnv(resolution=demo.resolution) as env:
        for e in demo.val_episodes:
            s = int(demo.ep_offset[e])
            frame = _execute(env, demo.state[s], demo.action[s:s + 25])
            np.testing.assert_array_equal(frame, demo.frames(np.array([s + 25]))[0])


def test_counterfactual_table_scores_the_simulated_outcomes(tiny) -> None:
    """Copy-baseline MSE recomputed by hand from the simulator; model / copy is their ratio;
    the same seed gives the same table and the random blocks move the agent."""
    demo_path, wm = tiny
    with DemoFile(demo_path) as demo:
        res = counterfactual_prediction(wm, demo, n_starts=6, n_blocks=3, seed=4)
        again = counterfactual_prediction(wm, demo, n_starts=6, n_blocks=3, seed=4)
        starts = counterfactual_starts(demo, 3, wm.cfg.frameskip, 6, 4)
        assert res == again and res["n_starts"] == len(starts) == 6 and res["env_steps"] == 15
        assert list(res["kinds"]) == list(ACTION_KINDS)
        assert set(np.asarray(demo.episode_idx)[starts]) <= set(demo.val_episodes.tolist())
        with PushTEnv(resolution=demo.resolution) as env, torch.no_grad():
            first, last = [], []
            for s in starts:
                env.reset_to_state(demo.state[s])
                first.append(env.render())
                last.append(_execute(env, demo.state[s], demo.action[s:s + 15]))
            z0 = wm.encode(torch.from_numpy(np.stack(first)))
            z1 = wm.encode(torch.from_numpy(np.stack(last)))
    row = res["kinds"]["recorded"]
    assert row["copy_mse"] == pytest.approx(float(((z0 - z1) ** 2).mean()), rel=1e-5)
    for row in res["kinds"].values():
        assert row["model_over_copy"] == pytest.approx(row["model_mse"] / row["copy_mse"])
    assert res["kinds"]["random"]["copy_mse"] > 0


def test_planning_diagnosis_compares_plan_and_recorded_actions(tiny) -> None:
    """A pair starting at an episode's first row: the recorded blocks reach its goal exactly
    (open loop), the plan's cost is the planner's own, every count is within the pairs."""
    demo_path, wm = tiny
    with DemoFile(demo_path) as demo:
        pairs = []
        for e in demo.val_episodes:
            s = int(demo.ep_offset[e])
            pairs.append({"episode": int(e), "start_row": s, "goal_row": s + 10,
                          "goal_state": demo.state[s + 10].tolist()})
        cfg = CEMConfig(samples=8, iterations=2, top_k=2, horizon=2, receding=2)
        res = planning_diagnosis(wm, demo, pairs, cfg, seed=1)
    assert res["n_pairs"] == len(pairs) and res["planner"] == cfg.to_dict()
    assert res["recorded_open_loop_successes"] == len(pairs)
    assert all(r["recorded_reaches_goal"] for r in res["pairs"])
    assert 0 <= res["open_loop_successes"] <= len(pairs)
    assert 0 <= res["plan_below_recorded"] <= len(pairs)
    assert res["plan_cost_median"] == pytest.approx(
        float(np.median([r["plan_cost"] for r in res["pairs"]])))
