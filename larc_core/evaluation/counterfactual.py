"""Counterfactual prediction: does the frozen world model know what *other* actions do?

Teacher-forced and recorded-action rollouts (``larc_core.world_model.health``) only test the
predictor on the demonstrator's own actions. A planner asks it about actions nobody recorded.
Here each action sequence is executed in the simulator from a recorded start state, the final
frame is rendered and encoded, and the predictor's rollout from the start latent under the same
blocks is scored against that encoding, beside the copy baseline (predict no change):

- ``recorded``: the recorded action blocks leaving the start row;
- ``noisy``: the recorded blocks plus Gaussian noise of ``noise_std`` in z-scored units;
- ``random``: blocks drawn from N(0, 1) in z-scored units (what CEM samples first).

The planning diagnosis (:func:`planning_diagnosis`) plans once with CEM from each evaluation
pair's start toward its goal frame and compares the plan's model cost with the recorded
actions' model cost, then executes the plan open loop in the simulator: a planner that scores
its plan below the true actions yet misses the goal is exploiting the model's errors.

Shapes: K blocks per sequence, F = frameskip env steps per block, A = F * 2 (one block), D the
latent width.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from larc_core.data import DemoFile
from larc_core.envs import PushTEnv, goal_reached, pose_errors
from larc_core.logs import get_logger
from larc_core.planning.cem import CEMPlanner
from larc_core.planning.config import CEMConfig
from larc_core.world_model import WorldModel

log = get_logger("evaluation.counterfactual")

ACTION_KINDS = ("recorded", "noisy", "random")
"""The action sequences of the counterfactual table, in its row order."""


def counterfactual_starts(demo: DemoFile, n_blocks: int, frameskip: int, n: int,
                          seed: int) -> np.ndarray:
    """(n,) sorted validation rows with ``n_blocks * frameskip`` recorded actions after them
    (an episode's last row carries none), drawn with ``default_rng([seed, 17])`` (fewer when
    the file has fewer)."""
    span = n_blocks * frameskip
    rows = [np.arange(demo.ep_offset[e], demo.ep_offset[e] + demo.ep_len[e] - span)
            for e in demo.val_episodes if demo.ep_len[e] > span]
    rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    if rows.size == 0:
        raise ValueError(f"no validation episode of {demo.path} has {span + 1} frames: cannot "
                         "measure counterfactual prediction")
    rng = np.random.default_rng([seed, 17])
    return np.sort(rng.choice(rows, size=min(n, rows.size), replace=False)).astype(np.int64)


def _execute(env: PushTEnv, start_state: np.ndarray, raw_actions: np.ndarray) -> np.ndarray:
    """Set the env to ``start_state``, step the (K * F, 2) relative actions, return the final
    frame (H, W, 3)."""
    env.reset_to_state(start_state)
    for a in raw_actions:
        env.step(a)
    return env.render()


@torch.no_grad()
def counterfactual_prediction(
    world_model: WorldModel, demo: DemoFile, *, n_starts: int = 100, n_blocks: int = 5,
    noise_std: float = 0.5, seed: int = 0,
) -> dict[str, Any]:
    """Latent MSE of the predictor's K-block rollout against the encoded simulator outcome.

    Args:
        world_model: frozen model (eval mode), its ``image_size`` the file's resolution.
        demo: demonstrations; starts come from validation episodes.
        n_starts: start rows (:func:`counterfactual_starts`).
        n_blocks: K, blocks per sequence (5 = one LeWM plan, 25 env steps).
        noise_std: the ``noisy`` sequence's noise, in z-scored action units.
        seed: seed of the starts and of the noise / random draws.

    Returns:
        ``{"n_starts", "n_blocks", "env_steps", "noise_std", "kinds": {kind: {"model_mse",
        "copy_mse", "model_over_copy", "median_block_motion_px"}}}``: MSE per latent dimension
        averaged over starts; model_over_copy = model_mse / copy_mse (< 1: better than
        predicting no change).
    """
    cfg = world_model.cfg
    fs, a_dim = cfg.frameskip, cfg.action_dim
    starts = counterfactual_starts(demo, n_blocks, fs, n_starts, seed)
    state = np.asarray(demo.state)
    actions = np.asarray(demo.action)
    # Draws on the CPU whatever the model's device: the same seed gives the same sequences.
    gen = torch.Generator().manual_seed(int(seed))
    shape = (len(starts), n_blocks, cfg.action_block_dim)
    mean, std = world_model.action_mean.cpu(), world_model.action_std.cpu()
    recorded = torch.stack([torch.from_numpy(actions[s:s + n_blocks * fs].reshape(n_blocks, -1))
                            for s in starts]).float()
    z_scored = (recorded - mean) / std
    sequences = {
        "recorded": recorded,
        "noisy": (z_scored + noise_std * torch.randn(shape, generator=gen)) * std + mean,
        "random": torch.randn(shape, generator=gen) * std + mean,
    }
    out: dict[str, Any] = {"n_starts": int(len(starts)), "n_blocks": n_blocks,
                           "env_steps": n_blocks * fs, "noise_std": noise_std, "kinds": {}}
    dev = world_model.device
    with PushTEnv(resolution=demo.resolution) as env:
        start_frames = []
        for s in starts:
            env.reset_to_state(state[s])
            start_frames.append(env.render())
        z0 = world_model.encode(torch.from_numpy(np.stack(start_frames)))
        for kind in ACTION_KINDS:
            blocks = sequences[kind]
            finals, motion = [], []
            for i, s in enumerate(starts):
                raw = blocks[i].reshape(-1, a_dim).numpy().astype(np.float32)
                finals.append(_execute(env, state[s], raw))
                motion.append(float(np.linalg.norm(env.state[2:4] - state[s, 2:4])))
            z_real = world_model.encode(torch.from_numpy(np.stack(finals)))
            pred = world_model.rollout(z0[:, None], blocks.to(dev))[:, -1]
            model_mse = float(((pred - z_real) ** 2).mean())
            copy_mse = float(((z0 - z_real) ** 2).mean())
            out["kinds"][kind] = {
                "model_mse": model_mse, "copy_mse": copy_mse,
                "model_over_copy": model_mse / copy_mse if copy_mse > 0 else None,
                "median_block_motion_px": float(np.median(motion)),
            }
            log.info("counterfactual %s: model %.4g, copy %.4g, model/copy %.3f", kind,
                     model_mse, copy_mse, out["kinds"][kind]["model_over_copy"] or float("nan"))
    return out


@torch.no_grad()
def planning_diagnosis(
    world_model: WorldModel, demo: DemoFile, pairs: list[dict[str, Any]], planner: CEMConfig,
    seed: int = 0,
) -> dict[str, Any]:
    """One CEM plan per pair from its start toward its goal frame, against the recorded actions.

    For each pair: the plan's model cost (squared distance of its last predicted latent to the
    goal latent), the model cost of the recorded blocks leaving the start row (the same number
    of blocks, fewer where the episode ends), and whether the plan executed open loop reaches
    the goal (the success test at any of its env steps).

    Returns:
        ``{"n_pairs", "plan_cost_median", "recorded_cost_median", "plan_below_recorded",
        "open_loop_successes", "recorded_open_loop_successes", "pairs": [...]}``.
    """
    cfg = world_model.cfg
    fs, a_dim = cfg.frameskip, cfg.action_dim
    cem = CEMPlanner(world_model, planner)
    state = np.asarray(demo.state)
    actions = np.asarray(demo.action)
    rows = []
    with PushTEnv(resolution=demo.resolution) as env:
        for p in pairs:
            s, goal = int(p["start_row"]), np.asarray(p["goal_state"], dtype=np.float64)
            env.reset_to_state(state[s])
            z0 = world_model.encode(torch.from_numpy(env.render()[None]))
            z_goal = world_model.encode(torch.from_numpy(demo.frames(np.array([p["goal_row"]]))))
            gen = torch.Generator(device=world_model.device).manual_seed(int(
                np.random.SeedSequence([int(seed), s % 2**32]).generate_state(1)[0]))
            res = cem.plan(z0, z_goal[0], generator=gen)
            plan_cost = float(cem.cost(z0, z_goal[0], res.mean[None])[0])
            n_rec = min(planner.horizon, (len(actions) - s) // fs)
            episode_end = int(demo.ep_offset[int(p["episode"])] + demo.ep_len[int(p["episode"])])
            n_rec = max(1, min(n_rec, (episode_end - 1 - s) // fs))
            rec = torch.from_numpy(actions[s:s + n_rec * fs].reshape(1, n_rec, -1)).float()
            rec_cost = float(cem.cost(z0, z_goal[0],
                                      world_model.normalize_actions(rec.to(world_model.device))))
            reached, final = {}, {}
            for name, raw in (("plan", res.actions.reshape(-1, a_dim).cpu().numpy()),
                              ("recorded", rec.reshape(-1, a_dim).numpy())):
                env.reset_to_state(state[s])
                hit = False
                for a in raw.astype(np.float32):
                    hit = hit or bool(goal_reached(env.step(a), goal))
                reached[name] = hit
                final[name] = env.state
            agent_err = float(np.linalg.norm(final["plan"][:2] - goal[:2]))
            block_err = float(np.linalg.norm(final["plan"][2:4] - goal[2:4]))
            _, angle_err = pose_errors(final["plan"], goal)
            rows.append({"start_row": s, "plan_cost": plan_cost, "recorded_cost": rec_cost,
                         "plan_reaches_goal": reached["plan"],
                         "recorded_reaches_goal": reached["recorded"],
                         "plan_final_agent_error_px": agent_err,
                         "plan_final_block_error_px": block_err,
                         "plan_final_angle_error_deg": float(np.degrees(angle_err))})
    n = len(rows)
    return {
        "n_pairs": n,
        "planner": planner.to_dict(),
        "plan_cost_median": float(np.median([r["plan_cost"] for r in rows])) if n else None,
        "recorded_cost_median": float(np.median([r["recorded_cost"] for r in rows])) if n else None,
        "plan_below_recorded": int(sum(r["plan_cost"] < r["recorded_cost"] for r in rows)),
        "open_loop_successes": int(sum(r["plan_reaches_goal"] for r in rows)),
        "recorded_open_loop_successes": int(sum(r["recorded_reaches_goal"] for r in rows)),
        "pairs": rows,
    }
