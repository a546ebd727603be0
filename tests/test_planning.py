"""The CEM planner baseline: it optimises its own cost, matches the world model's rollout, and
drives the simulator through the controller protocol with valid actions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from larc_core.config import load_config
from larc_core.envs import PushTEnv
from larc_core.planning import (
    CEMConfig,
    CEMController,
    CEMPlanner,
    PlannerConfigError,
    episode_seed,
    planner_settings,
)
from larc_core.world_model import WorldModel, WorldModelConfig


@pytest.fixture(scope="module")
def world_model(repo_root) -> WorldModel:
    """The smoke-size world model with random weights whose predictor depends on the actions
    (AdaLN-zero starts every block as the identity, so its modulation is randomised)."""
    cfg = load_config(repo_root / "config" / "smoke.yaml")
    torch.manual_seed(0)
    wm = WorldModel(WorldModelConfig.from_dict(cfg["world_model"]["model"]))
    for block in wm.predictor.transformer.layers:
        torch.nn.init.normal_(block.adaLN_modulation[1].weight, std=0.3)
    wm.set_action_stats(np.array([0.01, -0.02]), np.array([0.3, 0.4]))
    return wm.freeze()


def _goal(wm: WorldModel, history: torch.Tensor, blocks: torch.Tensor) -> torch.Tensor:
    """(D,) latent the world model predicts after raw ``blocks`` (H, A) from ``history``."""
    return wm.rollout(history.unsqueeze(0), blocks.unsqueeze(0))[0, -1]


def test_cem_lowers_its_own_cost(world_model):
    wm = world_model
    gen = torch.Generator().manual_seed(1)
    history = torch.randn(1, wm.cfg.latent_dim, generator=gen)
    target = wm.action_mean + wm.action_std * torch.randn(5, wm.cfg.action_block_dim,
                                                         generator=gen)
    z_goal = _goal(wm, history, target)
    cfg = CEMConfig(samples=64, iterations=10, top_k=8, horizon=5, receding=5)
    planner = CEMPlanner(wm, cfg)
    res = planner.plan(history, z_goal, generator=torch.Generator().manual_seed(0))
    assert len(res.elite_cost) == len(res.best_cost) == cfg.iterations
    assert res.elite_cost[-1] < 0.5 * res.elite_cost[0], res.elite_cost
    # Elite costs fall over the iterations (allowing a little sampling noise per step).
    assert all(b <= a * 1.05 for a, b in zip(res.elite_cost, res.elite_cost[1:], strict=False))
    assert min(res.best_cost) <= res.elite_cost[-1]
    # The returned plan is better than the starting mean (zeros in z-scored space).
    zero = torch.zeros(1, *res.mean.shape)
    final = planner.cost(history, z_goal, res.mean.unsqueeze(0))
    assert final.item() < planner.cost(history, z_goal, zero).item()
    assert res.actions.shape == (5, wm.cfg.action_block_dim)
    assert torch.allclose(res.actions, planner.decode(res.mean))
    # Seeded: the same generator seed gives the same plan.
    again = planner.plan(history, z_goal, generator=torch.Generator().manual_seed(0))
    assert torch.equal(again.actions, res.actions) and again.elite_cost == res.elite_cost


@pytest.mark.parametrize("h0", [1, 2, 3])
def test_batched_imagination_matches_world_model_rollout(world_model, h0):
    wm = world_model
    gen = torch.Generator().manual_seed(h0)
    history = torch.randn(h0, wm.cfg.latent_dim, generator=gen)
    hist_a = torch.randn(h0 - 1, wm.cfg.action_block_dim, generator=gen) if h0 > 1 else None
    z_actions = torch.randn(6, 4, wm.cfg.action_block_dim, generator=gen)
    planner = CEMPlanner(wm, CEMConfig(samples=6, top_k=2, horizon=4, receding=1))
    ref = wm.rollout(
        history.unsqueeze(0).expand(6, -1, -1), planner.decode(z_actions),
        None if hist_a is None else hist_a.unsqueeze(0).expand(6, -1, -1),
    )[:, -1]
    assert torch.allclose(planner.imagine(history, z_actions, hist_a), ref, atol=1e-5)


@pytest.mark.parametrize("receding", [1, 2, 5])
def test_controller_returns_valid_actions_and_keeps_the_real_history(world_model, receding):
    wm = world_model
    cfg = CEMConfig(samples=16, iterations=2, top_k=4, horizon=5, receding=receding)
    controller = CEMController(wm, cfg, seed=42)
    steps = 23
    with PushTEnv(resolution=wm.cfg.image_size) as env:
        env.reset_random(3)
        goal = env.render()
        start = env.reset_random(4)
        controller.reset(goal, start_row=7)
        actions = []
        for _ in range(steps):
            a = controller.act(env.render())
            assert a.shape == (2,) and a.dtype == np.float32 and np.isfinite(a).all()
            env.step(a)
            actions.append(a)
    fs = wm.cfg.frameskip
    period = receding * fs
    assert controller.env_steps_per_decision == period
    assert controller.episode_info()["plans"] == -(-steps // period)  # ceil
    # One latent per block boundary seen (at most `history` kept) and, between them, the raw
    # block that was really executed.
    boundaries = -(-steps // fs)
    assert len(controller.latents) == min(boundaries, wm.cfg.history)
    assert len(controller.blocks) == len(controller.latents) - 1
    last_closed = (boundaries - 1) * fs
    expected = np.concatenate(actions[last_closed - fs:last_closed])
    np.testing.assert_array_equal(controller.blocks[-1].numpy(), expected)
    # reset() reseeds from (seed, start row): the same episode plans the same actions.
    with PushTEnv(resolution=wm.cfg.image_size) as env:
        env.reset_to_state(start)
        controller.reset(goal, start_row=7)
        replay = []
        for _ in range(steps):
            a = controller.act(env.render())
            env.step(a)
            replay.append(a)
    np.testing.assert_array_equal(np.stack(replay), np.stack(actions))
    assert episode_seed(42, 7) != episode_seed(42, 8) != episode_seed(43, 7)


def test_planner_settings_validation(smoke_config, repo_root):
    for cfg in (smoke_config, load_config(repo_root / "config" / "config.yaml")):
        for key, receding in (("cem_commit5", 5), ("cem_replan1", 1)):
            assert key in cfg["eval"]["methods"]
            s = planner_settings(cfg["planner"], key)
            assert s["receding"] == receding and s["horizon"] == 5
    # LeWM's PushT planner for the commit-5 row (the paper's and the default config's); the
    # default's re-plan-1 row its own cheaper setting (planner.rows).
    for name in ("paper", "config"):
        cfg = load_config(repo_root / "config" / f"{name}.yaml")["planner"]
        lewm = planner_settings(cfg, "cem_commit5")
        assert (lewm["samples"], lewm["iterations"], lewm["top_k"]) == (300, 30, 30)
    default = load_config(repo_root / "config" / "config.yaml")["planner"]
    replan = planner_settings(default, "cem_replan1")
    assert replan["samples"] * replan["iterations"] < 300 * 30
    # The CEM rows keep the first 50 of the evaluation's pairs (the claims pair them there).
    assert default["n_pairs"] == 50 < load_config(repo_root / "config/config.yaml")["eval"][
        "n_episodes"]
    with pytest.raises(PlannerConfigError, match="planner.rows.cem_replan1: unknown field"):
        planner_settings({**default, "rows": {"cem_replan1": {"sample": 3}}}, "cem_replan1")
    with pytest.raises(PlannerConfigError, match="no planner: section"):
        planner_settings(None, "cem_commit5")
    with pytest.raises(PlannerConfigError, match="no entry for 'cem_other'"):
        planner_settings(smoke_config["planner"], "cem_other")
    bad = {**smoke_config["planner"], "receding": {"cem_commit5": 9}}
    with pytest.raises(PlannerConfigError, match="receding .9. must be <= horizon"):
        planner_settings(bad, "cem_commit5")
    with pytest.raises(PlannerConfigError, match="top_k"):
        CEMConfig(samples=4, top_k=5)
