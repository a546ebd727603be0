"""Ceiling of goal-conditioned behaviour cloning on PushT with a perfect representation.

For each demonstrator, on the same validation start/goal pairs (the workflow's protocol: pairs
from validation episodes, goal = the recorded state ``offset`` steps later, budget 2 x offset,
goal-pose success, starts already at the goal never drawn), it reports:

- ``demo``: the demonstrator itself restarted at the recorded start state (velocities zero, as
  every evaluation starts) and run for the budget: how far its recorded goals follow from the
  state. A demonstrator with hidden plans cannot reach its own goals, so no policy can.
- ``idm`` / ``chunk``: LARC-IDM and LARC-Chunk trained on the TRUE simulator state (agent x, y,
  block x, y, sin and cos of the block angle; no velocity, which would reveal the previous
  action) with the project's own policy classes and trainer
  (:func:`larc_core.training.fit.fit_stage`), the settings of ``--config``
  (``policy.*``), one run per ``--seeds`` seed. No world model can give the latent policies
  more than this.
- ``block``: the share of episodes whose block alone reached the goal pose (the agent-position
  term of the success test ignored), beside every rate.

Usage (the numbers in the closing note of issue 13 come from this command)::

    python benchmarks/state_policy_ceiling.py --demonstrator state_expert expert --seeds 0 1

It collects state-only episodes with the workflow's collection code (``data.*`` of
``--config``), a few seconds per demonstrator, then trains; about 4 minutes per policy and seed
with the default config on 2 cores.
"""

from __future__ import annotations

import argparse
import time
from multiprocessing import Pool
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
import torch
import yaml

from larc_core.data.collect import DEMONSTRATORS, choose_val_episodes, run_episode
from larc_core.data.hdf5 import VAL
from larc_core.envs import PushTEnv, goal_reached
from larc_core.evaluation.state_ceiling import block_reached, fit_state_policy, state_actor

OFFSETS = (25, 35, 50)


def _episode(task: tuple) -> tuple[np.ndarray, np.ndarray]:
    ep = run_episode(*task)
    return ep.state, ep.action


def collect(name: str, data: dict, workers: int) -> dict:
    """State-only episodes with the workflow's per-episode seeding and validation split."""
    n = int(data["n_episodes"])
    children = np.random.SeedSequence(int(data["seed"])).spawn(n)
    tasks = [(ss, int(data["min_len"]), int(data["max_len"]), None, name) for ss in children]
    with Pool(workers) as pool:
        eps = pool.map(_episode, tasks)
    ep_len = np.array([len(s) for s, _ in eps])
    split = choose_val_episodes(n, float(data["val_fraction"]), int(data["seed"]))
    return {
        "states": np.concatenate([s for s, _ in eps]), "actions": np.concatenate([a for _, a in eps]),
        "ep_len": ep_len, "ep_offset": np.concatenate([[0], np.cumsum(ep_len)[:-1]]),
        "train": np.flatnonzero(split != VAL), "val": np.flatnonzero(split == VAL),
    }


def draw_pairs(d: dict, offset: int, n: int, seed: int) -> list[tuple[int, int]]:
    """``n`` distinct (start row, goal row) pairs from validation episodes, as eval_pairs."""
    states = d["states"]
    rows = np.concatenate([np.arange(d["ep_offset"][e], d["ep_offset"][e] + d["ep_len"][e] - offset)
                           for e in d["val"] if d["ep_len"][e] > offset])
    ok = ~np.asarray(goal_reached(states[rows], states[rows + offset]), dtype=bool)
    rng = np.random.default_rng([seed, offset])
    starts = np.sort(rng.choice(rows[ok], size=min(n, int(ok.sum())), replace=False))
    return [(int(s), int(s) + offset) for s in starts]


def rollout(new_actor, states: np.ndarray, pairs: list[tuple[int, int]],
            offset: int) -> tuple[float, float]:
    """Success and block-only success rates of the actors ``new_actor()`` makes, one per pair:
    ``act(state, goal_state) -> action``."""
    hits = blocks = 0
    with PushTEnv(render=False) as env:
        for start, goal_row in pairs:
            act = new_actor()
            goal = states[goal_row].astype(np.float64)
            s = env.reset_to_state(states[start])
            ok = blk = False
            for _ in range(2 * offset):
                s = env.step(act(s, goal))
                blk = blk or block_reached(s, goal)
                if goal_reached(s, goal):
                    ok = blk = True
                    break
            hits += ok
            blocks += blk
    return hits / len(pairs), blocks / len(pairs)


def train_state_policy(stage: str, d: dict, cfg: dict, seed: int, steps: int | None):
    pol = cfg["policy"]
    train_cfg = dict(pol["train"])
    if steps:
        train_cfg["steps"] = steps
    with TemporaryDirectory() as tmp:
        fit = fit_state_policy(
            stage, d["states"], d["actions"], d["ep_offset"], d["ep_len"], d["train"], d["val"],
            pol[stage], train_cfg, int(pol["goal_offset_min"]), int(pol["goal_offset_max"]),
            seed, Path(tmp) / "state.pt")
    return state_actor(fit), fit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="config/config.yaml", help="data.* and policy.* settings")
    ap.add_argument("--demonstrator", nargs="+", default=["state_expert"],
                    choices=sorted(DEMONSTRATORS), help="demonstrators to compare")
    ap.add_argument("--episodes", type=int, default=None, help="override data.n_episodes")
    ap.add_argument("--stages", nargs="+", default=["idm", "chunk"], choices=["idm", "chunk"],
                    help="policies trained on the true state")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="training seeds")
    ap.add_argument("--steps", type=int, default=None, help="override policy.train.steps")
    ap.add_argument("--pairs", type=int, default=50, help="evaluation pairs per offset")
    ap.add_argument("--pair-seed", type=int, default=42, help="seed of the pair draw (eval.seed)")
    ap.add_argument("--workers", type=int, default=2, help="collection processes")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = yaml.safe_load(Path(args.config).read_text())
    data = dict(cfg["data"])
    if args.episodes:
        data["n_episodes"] = args.episodes

    def line(name: str, row: str, rates: dict[int, tuple[float, float]], extra: str = "") -> None:
        cells = " ".join(f"h{h}={100 * r:.0f}% (block {100 * b:.0f}%)" for h, (r, b) in rates.items())
        print(f"state-policy ceiling | {name} | {row:<12} | {cells}{extra}", flush=True)

    for name in args.demonstrator:
        t0 = time.time()
        d = collect(name, data, args.workers)
        pairs = {h: draw_pairs(d, h, args.pairs, args.pair_seed) for h in OFFSETS}
        print(f"state-policy ceiling | {name} | {len(d['ep_len'])} episodes, {len(d['states'])} "
              f"frames, length {d['ep_len'].min()}-{d['ep_len'].max()} (median "
              f"{np.median(d['ep_len']):.0f}), pairs {[len(p) for p in pairs.values()]}, "
              f"collected in {time.time() - t0:.0f} s", flush=True)
        cls = DEMONSTRATORS[name]

        def restarted(_cls=cls):  # a fresh demonstrator per pair: no plan carried over
            pusher = _cls(np.random.default_rng(0))
            return lambda state, goal: pusher.act(state)

        line(name, "demo", {h: rollout(restarted, d["states"], pairs[h], h) for h in OFFSETS})
        for stage in args.stages:
            for seed in args.seeds:
                t1 = time.time()
                act, fit = train_state_policy(stage, d, cfg, seed, args.steps)
                rates = {h: rollout(lambda a=act: a, d["states"], pairs[h], h) for h in OFFSETS}
                line(name, f"{stage} s{seed}", rates,
                     f" | train bc {fit.history[-1]['bc']:.3f} val bc {fit.val['bc']:.3f} | "
                     f"{time.time() - t1:.0f} s")


if __name__ == "__main__":
    main()
