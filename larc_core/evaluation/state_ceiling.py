"""True-state ceiling of the LARC policies: what the world model costs them.

LARC-IDM and LARC-Chunk are trained with the project's own trainer
(:func:`larc_core.training.fit.fit_stage`) and settings on the TRUE simulator state
instead of the world model's latents, and run on the evaluation's own start/goal pairs (the
``eval_pairs`` files, same budget and success test). The gap between these rates and the latent
rows of the table is what the frozen world model's representation costs the policies.

State features (6,): agent x, y and block x, y (centred, / 100 px) and the block angle as sin,
cos: everything the success test reads and nothing else. The velocity is left out: it would
reveal the previous action.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from larc_core.data import DemoFile
from larc_core.envs import PushTEnv, goal_reached
from larc_core.envs.success import ANGLE_TOL, POS_TOL, pose_errors
from larc_core.evaluation.pairs import load_pairs
from larc_core.io import sha256_file
from larc_core.logs import get_logger
from larc_core.objectives import TrainData
from larc_core.training.fit import FitResult, fit_stage

log = get_logger("eval.state_ceiling")

#: Policy stages trained on the true state, and the table label of their ceiling rows.
CEILING_LABELS = {"idm": "LARC-IDM (true state)", "chunk": "LARC-Chunk (true state)"}

Actor = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``act(state (7,), goal_state (7,)) -> relative action (2,)``."""


def state_features(states: np.ndarray) -> np.ndarray:
    """(..., >=5) states [ax, ay, bx, by, theta, ...] -> (..., 6) float32 features."""
    s = np.asarray(states, dtype=np.float32)
    return np.stack([(s[..., 0] - 256) / 100, (s[..., 1] - 256) / 100, (s[..., 2] - 256) / 100,
                     (s[..., 3] - 256) / 100, np.sin(s[..., 4]), np.cos(s[..., 4])], -1)


def block_reached(cur: np.ndarray, goal: np.ndarray) -> bool:
    """The success test on the block alone (position and angle; the agent ignored)."""
    cur, goal = np.asarray(cur, np.float64).copy(), np.asarray(goal, np.float64)
    cur[:2] = goal[:2]
    pos_err, angle_err = pose_errors(cur, goal)
    return bool(pos_err < POS_TOL and angle_err < ANGLE_TOL)


def fit_state_policy(stage: str, states: np.ndarray, actions: np.ndarray, ep_offset: np.ndarray,
                     ep_len: np.ndarray, train_episodes: np.ndarray, val_episodes: np.ndarray,
                     policy_cfg: dict[str, Any], train_cfg: dict[str, Any],
                     goal_offset_min: int, goal_offset_max: int, seed: int,
                     state_path: str | Path, progress: bool = False,
                     identity: dict[str, Any] | None = None) -> FitResult:
    """``fit_stage`` on state features (N, 6) instead of latents; same objective, sampler and
    losses. ``identity`` (e.g. the demonstration file's hash) keys the resume state to the data."""
    data = TrainData(latents=torch.from_numpy(state_features(states)), actions=actions,
                     ep_offset=ep_offset, ep_len=ep_len, train_episodes=train_episodes,
                     val_episodes=val_episodes, goal_offset_min=goal_offset_min,
                     goal_offset_max=goal_offset_max)
    return fit_stage(stage, data, train_cfg=train_cfg, model_cfg=policy_cfg, seed=seed,
                     state_path=state_path, progress=progress,
                     identity={"features": "state6", **(identity or {})})


def state_actor(fit: FitResult) -> Actor:
    """Closed-loop actor of a state policy: the first action of each chunk (execute 1)."""
    fit.policy.eval()

    @torch.no_grad()
    def act(state: np.ndarray, goal: np.ndarray) -> np.ndarray:
        z = torch.from_numpy(state_features(np.asarray(state)[None]))
        zg = torch.from_numpy(state_features(np.asarray(goal)[None]))
        return fit.policy.act(z, zg, fit.stats)[0, 0].numpy()

    return act


def run_state_pairs(actor: Actor, pairs: list[dict[str, Any]], budget: int) -> list[dict]:
    """One episode per pair (start state, goal state, ``budget`` steps, latched success): per
    episode ``success``, ``block_success`` and ``steps``. No rendering: the actor reads state."""
    records = []
    with PushTEnv(render=False) as env:
        for pair in pairs:
            goal = np.asarray(pair["goal_state"], dtype=np.float64)
            state = env.reset_to_state(np.asarray(pair["start_state"], dtype=np.float64))
            ok = blk = False
            steps = budget
            for step in range(budget):
                state = env.step(actor(state, goal))
                blk = blk or block_reached(state, goal)
                if goal_reached(state, goal):
                    ok = blk = True
                    steps = step + 1
                    break
            records.append({"start_row": int(pair["start_row"]), "success": ok,
                            "block_success": blk, "steps": steps})
    return records


def state_ceiling(demo_path: str | Path, pairs_paths: list[str | Path], stages: list[str],
                  policy: dict[str, Any], seed: int, state_dir: str | Path,
                  progress: bool = False) -> dict[str, Any]:
    """Train each stage on the true state (``policy`` = config ``policy:``) and run it on every
    pairs file. Returns ``{"seed", "demos_sha256", "rows": [{stage, label, offset, n_episodes,
    successes, success_rate, block_successes, pairs_file, pairs_sha256, episodes}], "fits":
    {stage: {train_bc, val_bc}}}``; ``episodes`` holds one record per pair."""
    with DemoFile(demo_path) as demo:
        states, actions = np.asarray(demo.state), np.asarray(demo.action)
        ep_offset, ep_len = np.asarray(demo.ep_offset), np.asarray(demo.ep_len)
        train_eps, val_eps = demo.train_episodes, demo.val_episodes
    docs = [(str(p), load_pairs(p, demo_path)) for p in pairs_paths]
    demo_sha = sha256_file(demo_path)
    rows, fits = [], {}
    for stage in stages:
        if stage not in CEILING_LABELS:
            raise ValueError(f"state ceiling stages must be in {sorted(CEILING_LABELS)}, "
                             f"got {stage!r}")
        fit = fit_state_policy(
            stage, states, actions, ep_offset, ep_len, train_eps, val_eps, policy[stage],
            policy["train"], int(policy["goal_offset_min"]), int(policy["goal_offset_max"]),
            seed, Path(state_dir) / f"state_{stage}_seed{seed}.pt", progress=progress,
            identity={"demos_sha256": demo_sha})
        fits[stage] = {"train_bc": fit.history[-1]["bc"], "val_bc": fit.val["bc"]}
        actor = state_actor(fit)
        for path, doc in docs:
            recs = run_state_pairs(actor, doc["pairs"], int(doc["budget"]))
            n, k = len(recs), sum(r["success"] for r in recs)
            rows.append({
                "stage": stage, "label": CEILING_LABELS[stage], "offset": int(doc["offset"]),
                "n_episodes": n, "successes": k, "success_rate": k / n,
                "block_successes": sum(r["block_success"] for r in recs),
                "pairs_file": path, "pairs_sha256": sha256_file(path), "episodes": recs,
            })
            log.info("%s on the true state, h%d: %d/%d successes", stage, doc["offset"], k, n)
    return {"seed": seed, "demos_sha256": demo_sha, "rows": rows, "fits": fits}
