"""Run evaluation episodes in the PushT simulator and record per-episode outcomes.

Episodes run in order in this process (:func:`run_episodes`) or spread over worker processes
(:func:`run_episodes_parallel`); both give identical records, because every episode starts from
its pair's exact state, controllers reset all episode state (and reseed any RNG from the pair)
in ``reset``, and every process runs torch with one thread.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Protocol

import numpy as np
import torch

from larc_core.envs import PushTEnv, goal_reached, pose_errors
from larc_core.logs import progress as progress_bar
from larc_core.seeding import seed_everything


class Controller(Protocol):
    uses_frames: bool
    """False for controllers that ignore the frame (No-op, Replay): rendering is skipped."""

    def reset(self, goal_frame: np.ndarray, start_row: int) -> None: ...

    def act(self, frame: np.ndarray) -> np.ndarray: ...


def run_episode(
    env: PushTEnv,
    controller: Controller,
    start_state: np.ndarray,
    goal_state: np.ndarray,
    goal_frame: np.ndarray,
    budget: int,
    start_row: int = -1,
    frames: list[np.ndarray] | None = None,
    frame_size: int | None = None,
) -> dict[str, Any]:
    """One goal-reaching episode with the latched success test of REFERENCE §2.

    The env is set exactly to ``start_state`` (7,), the controller is given the recorded goal
    frame (H, W, 3), and the episode stops at the first step whose state passes the success
    test, or after ``budget`` steps. ``frames``, when given, receives the rendered frame before
    every step and after the last one (rollout videos), at ``frame_size`` px (default: the
    policy's resolution); the episode is the same.
    """
    env.reset_to_state(start_state)
    controller.reset(goal_frame, start_row)
    goal_state = np.asarray(goal_state, dtype=np.float64)
    state = env.state
    success_step = None
    best_pos = float("inf")
    render = getattr(controller, "uses_frames", True)
    reads_state = getattr(controller, "uses_state", False)
    for step in range(budget):
        frame = env.render() if render else None
        if frames is not None:
            frames.append(_video_frame(env, frame_size, frame))
        obs = frame if render else (state if reads_state else None)
        state = env.step(controller.act(obs))
        pos_err, _ = pose_errors(state, goal_state)
        best_pos = min(best_pos, float(pos_err))
        if goal_reached(state, goal_state):
            success_step = step + 1
            break
    if frames is not None:
        frames.append(_video_frame(env, frame_size))
    pos_err, ang_err = pose_errors(state, goal_state)
    record = {
        "success": success_step is not None,
        "steps_to_success": success_step,
        "steps": success_step if success_step is not None else budget,
        "final_position_error": float(pos_err),
        "final_angle_error": float(ang_err),
        "best_position_error": best_pos,
        "final_state": [float(x) for x in state],
    }
    info = getattr(controller, "episode_info", None)
    if info is not None:  # controller diagnostics (e.g. the planner's costs); deterministic
        record["controller"] = info()
    return record


def _video_frame(env: PushTEnv, size: int | None, frame: np.ndarray | None = None) -> np.ndarray:
    """The current frame at ``size`` px (None: the policy's resolution, reusing ``frame``)."""
    if size is None:
        return frame if frame is not None else env.render()
    return env.render_size(size)


def _record(i: int, pair: dict[str, Any], rec: dict[str, Any]) -> dict[str, Any]:
    return {
        "index": i,
        "episode": pair["episode"],
        "start_row": pair["start_row"],
        "goal_row": pair["goal_row"],
        **rec,
    }


def _episode_of_pair(
    env: PushTEnv, controller: Controller, pair: dict[str, Any], goal_frame: np.ndarray,
    budget: int,
) -> dict[str, Any]:
    return run_episode(
        env, controller, np.asarray(pair["start_state"]), np.asarray(pair["goal_state"]),
        goal_frame, budget, int(pair["start_row"]),
    )


def run_episodes(
    env: PushTEnv,
    controller: Controller,
    pairs: list[dict[str, Any]],
    goal_frames: np.ndarray,
    budget: int,
    desc: str = "eval",
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Evaluate every pair in order; ``goal_frames`` (P, H, W, 3) holds their recorded goal images."""
    records = []
    for i, pair in enumerate(progress_bar(pairs, desc=desc, unit="episode",
                                          disable=not progress)):
        records.append(_record(i, pair, _episode_of_pair(env, controller, pair, goal_frames[i],
                                                         budget)))
    return records


# --------------------------------------------------------------------------- worker processes
_WORKER: dict[str, Any] = {}
"""Per-process state of an evaluation worker: its env and controller, built once."""


def _init_worker(
    build: Callable[[Any], Controller], spec: Any, resolution: int, seed: int
) -> None:
    torch.set_num_threads(1)
    seed_everything(seed)
    _WORKER["env"] = PushTEnv(resolution=resolution, render=True)
    _WORKER["controller"] = build(spec)


def _run_in_worker(
    i: int, pair: dict[str, Any], goal_frame: np.ndarray, budget: int
) -> dict[str, Any]:
    rec = _episode_of_pair(_WORKER["env"], _WORKER["controller"], pair, goal_frame, budget)
    return _record(i, pair, rec)


MIN_PAIRS_PER_WORKER = 4
"""Fewer pairs than this per worker run in fewer workers: starting a worker (spawn, import torch
and the simulator, load the models) costs seconds, more than a few cheap episodes."""


def workers_for_pairs(requested: int, n_pairs: int, min_pairs: int = MIN_PAIRS_PER_WORKER) -> int:
    """Workers worth starting for ``n_pairs`` episodes: ``requested``, at most one per
    ``min_pairs`` pairs (also the cores an evaluation rule reserves; see ``common.smk``)."""
    by_pairs = max(1, n_pairs // max(1, int(min_pairs)))
    return max(1, min(int(requested), by_pairs))


def worker_count(requested: int, n_pairs: int, min_pairs: int = MIN_PAIRS_PER_WORKER) -> int:
    """Worker processes actually used: :func:`workers_for_pairs`, at most one per CPU core."""
    return min(workers_for_pairs(requested, n_pairs, min_pairs), os.cpu_count() or 1)


def run_episodes_parallel(
    build: Callable[[Any], Controller],
    spec: Any,
    resolution: int,
    pairs: list[dict[str, Any]],
    goal_frames: np.ndarray,
    budget: int,
    workers: int,
    seed: int = 0,
    desc: str = "eval",
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Evaluate every pair over ``workers`` processes; records come back in pair order.

    Each worker (started with ``spawn``: no torch state is forked) runs torch with one thread,
    seeds every RNG with ``seed`` like the sequential path, builds its own env and its own
    controller once with ``build(spec)`` (``build`` a module-level function and ``spec``
    picklable), then takes pairs one at a time, so slow and fast episodes balance out.
    ``workers <= 1`` runs the sequential :func:`run_episodes` in this process with the same
    settings (one torch thread, seeded), which gives identical records.
    """
    n = worker_count(workers, len(pairs), min_pairs=1)
    if n <= 1:
        torch.set_num_threads(1)
        seed_everything(seed)
        with PushTEnv(resolution=resolution) as env:
            return run_episodes(env, build(spec), pairs, goal_frames, budget, desc, progress)
    ctx = multiprocessing.get_context("spawn")
    records: list[dict[str, Any] | None] = [None] * len(pairs)
    with ProcessPoolExecutor(n, mp_context=ctx, initializer=_init_worker,
                             initargs=(build, spec, resolution, seed)) as pool:
        futures = [pool.submit(_run_in_worker, i, pair, goal_frames[i], budget)
                   for i, pair in enumerate(pairs)]
        for fut in progress_bar(as_completed(futures), total=len(futures), unit="episode",
                                desc=f"{desc} ({n} workers)", disable=not progress):
            rec = fut.result()
            records[rec["index"]] = rec
    return records  # type: ignore[return-value]
