"""Which training episodes let a goal-conditioned policy finish gym-pusht's own task?

On a run's demonstration file (noisy replays: every expert episode replayed with action noise),
LARC-IDM's network is trained on the TRUE simulator state (the state-ceiling features: agent and
block position, sin / cos of the block angle) twice with the project's trainer and the config's
``policy.*`` settings: on every training episode, and on the expert's own episodes only (replay
noise 0, what ``policy.max_replay_noise: 0`` selects). Each is run on gym-pusht's task from
``standard.tuning_start_seed`` (never the reported starts): 300 steps, success = coverage > 0.95
at any step, the goal re-chosen at every step as in ``standard.subgoal: retrieval`` but in state
space (the nearest row of the expert's training episodes, the row ``--subgoal-offset`` later).
The two runs face the identical starts; the output gives both rates and the paired split.

Usage (on the default run's data, about 2 minutes on one core)::

    python benchmarks/standard_training_data.py --demos data/pusht_expert_train.h5 --episodes 20
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
import torch

from larc_core.config import load_config
from larc_core.data import DemoFile
from larc_core.envs import PushTEnv
from larc_core.envs.geometry import SUCCESS_COVERAGE
from larc_core.evaluation.standard import subgoal_rows
from larc_core.evaluation.state_ceiling import fit_state_policy, state_features


def run_task(policy, stats, table: tuple[np.ndarray, np.ndarray], start_seed: int,
             n_episodes: int, max_steps: int) -> list[dict]:
    """gym-pusht's task from ``reset(seed=start_seed + i)``; per episode success and max coverage."""
    rows, ahead = table
    records = []
    with PushTEnv(render=False) as env:
        for i in range(n_episodes):
            state = env.reset_random(start_seed + i)
            best, success = 0.0, False
            for _ in range(max_steps):
                z = state_features(np.asarray(state)[None])
                j = int(np.argmin(((rows - z) ** 2).sum(1)))
                with torch.no_grad():
                    action = policy.act(torch.from_numpy(z), torch.from_numpy(ahead[j:j + 1]),
                                        stats)[0, 0].numpy()
                state = env.step(action)
                best = max(best, env.coverage())
                if best > SUCCESS_COVERAGE:
                    success = True
                    break
            records.append({"seed": start_seed + i, "success": success, "max_coverage": best})
    return records


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="config/config.yaml")
    ap.add_argument("--demos", default="data/pusht_expert_train.h5")
    ap.add_argument("--episodes", type=int, default=20, help="tuning starts per policy")
    ap.add_argument("--subgoal-offset", type=int, default=25)
    ap.add_argument("--seed", type=int, default=0, help="training seed")
    args = ap.parse_args()
    torch.set_num_threads(1)
    config = load_config(args.config)
    policy, standard = config["policy"], config["standard"]
    with DemoFile(args.demos) as demo:
        states, actions = np.asarray(demo.state), np.asarray(demo.action)
        ep_offset, ep_len = np.asarray(demo.ep_offset), np.asarray(demo.ep_len)
        noise = demo.episode_noise
        train, val = np.asarray(demo.train_episodes), np.asarray(demo.val_episodes)
        rows, ahead = subgoal_rows(demo, args.subgoal_offset)
    if noise is None:
        raise SystemExit(f"{args.demos}: no replay noise recorded; nothing to compare")
    table = state_features(states[rows]), state_features(states[ahead])
    results = {}
    with TemporaryDirectory() as tmp:
        for name, (tr, va) in {
            "all episodes": (train, val),
            "expert episodes (noise 0)": (train[noise[train] == 0], val[noise[val] == 0]),
        }.items():
            t0 = time.perf_counter()
            fit = fit_state_policy(
                "idm", states, actions, ep_offset, ep_len, tr, va, policy["idm"],
                policy["train"], int(policy["goal_offset_min"]), int(policy["goal_offset_max"]),
                args.seed, Path(tmp) / f"{len(tr)}.pt")
            fit.policy.eval()
            train_s = time.perf_counter() - t0
            recs = run_task(fit.policy, fit.stats, table, int(standard["tuning_start_seed"]),
                            args.episodes, int(standard["max_steps"]))
            results[name] = recs
            k = sum(r["success"] for r in recs)
            print(json.dumps({"training episodes": name, "n_train_episodes": int(len(tr)),
                              "train_s": round(train_s, 1), "successes": k,
                              "episodes": len(recs), "pc_success": 100.0 * k / len(recs),
                              "mean_max_coverage": round(float(np.mean(
                                  [r["max_coverage"] for r in recs])), 3)}))
    a, b = (np.array([r["success"] for r in recs]) for recs in results.values())
    print(json.dumps({"paired starts": len(a), "both": int((a & b).sum()),
                      "expert episodes only": int((~a & b).sum()),
                      "all episodes only": int((a & ~b).sum())}))


if __name__ == "__main__":
    main()
