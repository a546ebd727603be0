"""Time per rendered frame: gym-pusht's own image path against ``PushTEnv.render``.

Every closed-loop step of a learned or planned method renders one frame, and so does every
recorded demonstration step; both paths give the same pixels (checked here on every frame)::

    python benchmarks/render.py --resolution 64 --frames 500

Prints the median and p95 milliseconds per frame of each path and the load average (a busy
machine inflates both).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from larc_core.envs import WALL_HI, WALL_LO, PushTEnv


def time_paths(resolution: int, frames: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Milliseconds per frame of both paths on the same ``frames`` random poses."""
    rng = np.random.default_rng(seed)
    times: dict[str, list[float]] = {"gym-pusht _render": [], "PushTEnv.render": []}
    with PushTEnv(resolution=resolution) as env:
        env.reset_random(seed)
        for _ in range(frames):
            env.step_target(rng.uniform(WALL_LO, WALL_HI, size=2))
            t0 = time.perf_counter()
            theirs = env._env._render(visualize=False)
            t1 = time.perf_counter()
            ours = env.render()
            t2 = time.perf_counter()
            if not np.array_equal(theirs, ours):
                raise AssertionError("PushTEnv.render differs from gym-pusht's pixel observation")
            times["gym-pusht _render"].append(1e3 * (t1 - t0))
            times["PushTEnv.render"].append(1e3 * (t2 - t1))
    return {k: np.array(v) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--resolution", type=int, default=64)
    ap.add_argument("--frames", type=int, default=500)
    args = ap.parse_args()
    times = time_paths(args.resolution, args.frames)
    print(f"{args.frames} frames at {args.resolution} px, identical pixels; "
          f"load average {os.getloadavg()[0]:.1f}")
    print("| path | median ms | p95 ms |")
    print("|---|---:|---:|")
    for name, t in times.items():
        print(f"| {name} | {np.median(t):.2f} | {np.percentile(t, 95):.2f} |")


if __name__ == "__main__":
    main()
