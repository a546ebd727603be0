"""Ceiling of goal-conditioned behaviour cloning on PushT with a perfect representation.

Trains the LARC-Chunk policy (same registry model, sampler, loss and optimiser settings as the
workflow) on the TRUE simulator state instead of world-model latents, and evaluates it with the
workflow's protocol (goal-pose success, budget 2 x offset, pairs drawn from validation episodes,
starts already at the goal excluded). Whatever this reaches bounds what the latent policies can
reach on the same kind of data: no world model can make the latents better than the state.

It answers "is the gap to the published table the world model or the data?". Usage::

    python benchmarks/state_policy_ceiling.py --demonstrator expert random --episodes 300

prints one line per demonstrator: success at each offset and the final training loss. State-only
collection (no rendering) keeps it to a few minutes per demonstrator on 2 cores.
"""

from __future__ import annotations

import argparse
import time
from multiprocessing import Pool

import numpy as np
import torch

from larc_core.data.collect import DEMONSTRATORS
from larc_core.envs import PushTEnv, goal_reached
from larc_core.policies import ActionStats, make_policy
from larc_core.training.sampler import HindsightSampler


def state_features(states: np.ndarray) -> np.ndarray:
    """(..., >=5) states -> (..., 6) float32: agent x, y and block x, y (centred, /100 px), block
    angle as sin, cos. Everything the success test looks at, nothing else."""
    s = np.asarray(states, dtype=np.float32)
    return np.stack([(s[..., 0] - 256) / 100, (s[..., 1] - 256) / 100, (s[..., 2] - 256) / 100,
                     (s[..., 3] - 256) / 100, np.sin(s[..., 4]), np.cos(s[..., 4])], -1)


def _episode(task: tuple[str, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    name, seed, min_len, max_len = task
    rng = np.random.default_rng(seed)
    length = int(rng.integers(min_len, max_len + 1))
    with PushTEnv(render=False) as env:
        env.reset_to_state(env.reset_random(int(rng.integers(0, 2**31 - 1))))
        pusher = DEMONSTRATORS[name](rng)
        states = np.empty((length, 7), np.float32)
        actions = np.zeros((length, 2), np.float32)
        for t in range(length):
            states[t] = env.state
            if t < length - 1:
                actions[t] = pusher.act(states[t])
                env.step(actions[t])
    return states, actions


def run(name: str, episodes: int, val_episodes: int, steps: int, chunk_len: int, pairs: int,
        offsets: list[int], seed: int, workers: int) -> dict:
    t0 = time.time()
    tasks = [(name, seed * 100_000 + i, 120, 200) for i in range(episodes + val_episodes)]
    with Pool(workers) as pool:
        eps = pool.map(_episode, tasks)
    states = np.concatenate([e[0] for e in eps])
    actions = np.concatenate([e[1] for e in eps])
    ep_len = np.array([len(e[0]) for e in eps])
    ep_offset = np.concatenate([[0], np.cumsum(ep_len)[:-1]])
    train = np.arange(episodes)
    val = np.arange(episodes, episodes + val_episodes)
    t_collect = time.time() - t0

    torch.manual_seed(seed)
    z = torch.from_numpy(state_features(states))
    sampler = HindsightSampler(z, actions, ep_offset, ep_len, train, chunk_len, 1, 60)
    rows = np.concatenate([np.arange(ep_offset[e], ep_offset[e] + ep_len[e] - 1) for e in train])
    stats = ActionStats.from_actions(torch.from_numpy(actions[rows]))
    policy = make_policy("chunk", latent_dim=6, hidden_dim=512, depth=3, dropout=0.0,
                         chunk_len=chunk_len)
    opt = torch.optim.AdamW(policy.parameters(), lr=1e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for step in range(steps):
        batch = sampler.sample(256, seed, step)
        loss = ((policy(batch.z, batch.z_goal) - stats.normalize(batch.actions)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    policy.eval()

    rng = np.random.default_rng(42)
    success = {}
    with PushTEnv(render=False) as env, torch.no_grad():
        for h in offsets:
            n = hits = 0
            while n < pairs:
                e = int(rng.choice(val))
                if ep_len[e] <= h:
                    continue
                r = ep_offset[e] + int(rng.integers(0, ep_len[e] - h))
                goal = states[r + h].astype(np.float64)
                if goal_reached(states[r].astype(np.float64), goal):
                    continue  # already at the goal: never drawn (as in eval_pairs)
                n += 1
                env.reset_to_state(states[r])
                zg = torch.from_numpy(state_features(goal[None]))
                for _ in range(2 * h):
                    zt = torch.from_numpy(state_features(env.state[None]))
                    a = policy.act(zt, zg, stats)[0, 0].numpy()  # execute_chunk_size 1
                    if goal_reached(env.step(a), goal):
                        hits += 1
                        break
            success[h] = hits / pairs
    return {"demonstrator": name, "success": success, "final_bc_loss": float(loss.detach()),
            "collect_s": t_collect, "total_s": time.time() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--demonstrator", nargs="+", default=["expert", "random"],
                    choices=sorted(DEMONSTRATORS))
    ap.add_argument("--episodes", type=int, default=300, help="training episodes")
    ap.add_argument("--val-episodes", type=int, default=60)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--chunk-len", type=int, default=10)
    ap.add_argument("--pairs", type=int, default=50, help="evaluation pairs per offset")
    ap.add_argument("--offsets", type=int, nargs="+", default=[25, 35, 50])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(1)
    for name in args.demonstrator:
        r = run(name, args.episodes, args.val_episodes, args.steps, args.chunk_len, args.pairs,
                args.offsets, args.seed, args.workers)
        cells = " ".join(f"h{h}={100 * v:.0f}%" for h, v in r["success"].items())
        print(f"state-policy ceiling | demonstrator={name} episodes={args.episodes} | {cells} | "
              f"bc_loss={r['final_bc_loss']:.3f} | {r['total_s']:.0f} s", flush=True)


if __name__ == "__main__":
    main()
