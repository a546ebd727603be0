"""gym-pusht's own task, as LeRobot and Diffusion Policy evaluate it (rule ``eval_standard``).

Episode i starts from gym-pusht's random state ``reset(seed=start_seed + i)``; the block must be
pushed onto the fixed green T; the step reward is ``clip(coverage / 0.95, 0, 1)`` and the
episode is a success, and ends, at the first step whose coverage exceeds 0.95, else after
``max_steps`` (300, gym-pusht's time limit). The record is LeRobot's ``eval_info.json`` layout
(``per_episode``, ``per_task``, ``per_group``, ``overall`` with ``avg_sum_reward``,
``avg_max_reward``, ``pc_success``, ``n_episodes``, ``eval_s``, ``eval_ep_s``,
``video_paths``).

A LARC policy is goal-conditioned on a latent ``z_goal`` a few dozen steps ahead (its training
goals are 1-60 steps away); the task's goal is about 140 expert steps away. Two ways to give it
a goal (``subgoal``):

- ``"none"``: the goal image itself: the simulator's frame of the T resting on the target with
  the agent where the expert's own episodes end (median over its training episodes);
- ``"retrieval"``: a subgoal from the demonstrations: at every policy query the current latent's
  nearest neighbour (L2) among the latents of the expert's own training episodes (replay noise
  0) is found, and the latent ``subgoal_offset`` rows later in that episode (its last row at
  most: the T on the target) is the goal. Every expert episode ends at the task's goal, so the
  retrieved future leads there; the policy still chooses every action. Horizon policies (GC-IDM)
  are told the rows between the two.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from larc_core.data import DemoFile
from larc_core.envs import PushTEnv
from larc_core.envs.geometry import GOAL_POSE, SUCCESS_COVERAGE
from larc_core.evaluation.build import ControllerSpec, build_controller, torch_threads
from larc_core.evaluation.controller import LatentPolicyController
from larc_core.io import ArtifactError, atomic_write_json
from larc_core.logs import get_logger
from larc_core.logs import progress as progress_bar
from larc_core.video import write_mp4

log = get_logger("eval.standard")


SUBGOALS = ("none", "retrieval")


def goal_state(demo: DemoFile) -> np.ndarray:
    """(5,) state of the goal image: the block on gym-pusht's target pose, the agent at the
    median final position of the expert's own training episodes (replay noise 0)."""
    episodes = source_train_episodes(demo)
    last = demo.ep_offset[episodes] + demo.ep_len[episodes] - 1
    agent = np.median(np.asarray(demo.state)[last, :2], axis=0)
    return np.array([agent[0], agent[1], *GOAL_POSE], dtype=np.float64)


def source_train_episodes(demo: DemoFile) -> np.ndarray:
    """(E,) the expert's own training episodes (replay noise 0; every training episode when
    the file records no replay noise)."""
    episodes = np.asarray(demo.train_episodes)
    noise = demo.episode_noise
    if noise is not None:
        episodes = episodes[noise[episodes] == 0]
    if len(episodes) == 0:
        raise ArtifactError(f"{demo.path}: no training episode without replay noise to take "
                            f"the standard task's goal and subgoals from")
    return episodes


def subgoal_rows(demo: DemoFile, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """(R,) rows of the expert's own training episodes and (R,) the row ``offset`` later in the
    same episode (clamped to its last row)."""
    rows, ahead = [], []
    for e in source_train_episodes(demo):
        first, n = int(demo.ep_offset[e]), int(demo.ep_len[e])
        r = np.arange(first, first + n)
        rows.append(r)
        ahead.append(np.minimum(r + offset, first + n - 1))
    return np.concatenate(rows), np.concatenate(ahead)


class SubgoalLibrary:
    """Latents of the expert's own training episodes and, per row, the row ``offset`` later
    (clamped to the episode's last row)."""

    def __init__(self, latents: torch.Tensor, demo: DemoFile, offset: int) -> None:
        if offset < 1:
            raise ValueError(f"subgoal_offset must be >= 1; got {offset}")
        self.rows, self.ahead = subgoal_rows(demo, offset)
        self.latents = latents[torch.as_tensor(self.rows)].float()
        self.ahead_latents = latents[torch.as_tensor(self.ahead)].float()
        self._sq = (self.latents ** 2).sum(1)

    def subgoal(self, z: torch.Tensor) -> tuple[torch.Tensor, int]:
        """(1, D) latent -> ((1, D) subgoal latent, rows between the neighbour and it)."""
        d = self._sq - 2.0 * (self.latents @ z[0].float())
        i = int(torch.argmin(d))
        return self.ahead_latents[i:i + 1], max(int(self.ahead[i] - self.rows[i]), 1)


class SubgoalController:
    """A latent policy controller whose goal is re-chosen from the library at every query."""

    uses_frames = True

    def __init__(self, inner: LatentPolicyController, library: SubgoalLibrary) -> None:
        self.inner, self.library = inner, library

    def reset(self, goal_frame: np.ndarray, start_row: int) -> None:
        self.inner.reset(goal_frame, start_row)

    @torch.no_grad()
    def act(self, frame: np.ndarray) -> np.ndarray:
        inner = self.inner
        if not inner.queue:
            z = inner.encode(frame)
            z_goal, rows = self.library.subgoal(z.to(self.library.latents.device))
            inner.z_goal = z_goal.to(inner.device)
            inner.goal_offset = rows + inner.t  # remaining_steps() = rows at this query
            inner.queue.extend(inner.policy_forward(z)[: inner.execute])
        inner.t += 1
        return inner.queue.popleft()


def run_standard_episode(env: PushTEnv, controller: Any, start_seed: int, goal_frame: np.ndarray,
                         max_steps: int, video: list[np.ndarray] | None = None,
                         video_size: int = 256) -> dict[str, Any]:
    """One episode of gym-pusht's task from ``reset(seed=start_seed)``: LeRobot's per-episode
    record (``sum_reward``, ``max_reward``, ``success``, ``seed``) plus the coverage reached.
    ``video`` receives a ``video_size`` px frame before every step and after the last."""
    env.reset_random(start_seed)
    controller.reset(goal_frame, -1)
    rewards, coverages, success_step = [], [], None
    for step in range(max_steps):
        if video is not None:
            video.append(env.render_size(video_size))
        env.step(controller.act(env.render()))
        cov = env.coverage()
        coverages.append(cov)
        rewards.append(float(np.clip(cov / SUCCESS_COVERAGE, 0.0, 1.0)))
        if cov > SUCCESS_COVERAGE:
            success_step = step + 1
            break
    if video is not None:
        video.append(env.render_size(video_size))
    return {"seed": int(start_seed), "success": success_step is not None,
            "steps": success_step or max_steps, "sum_reward": float(np.sum(rewards)),
            "max_reward": float(np.max(rewards)), "max_coverage": float(np.max(coverages)),
            "final_coverage": float(coverages[-1])}


def _goal_panel(frames: list[np.ndarray], goal: np.ndarray) -> list[np.ndarray]:
    """Each frame beside the goal image (both at the video's side)."""
    return [np.concatenate([f, goal], axis=1) for f in frames]


def evaluate_standard(spec: ControllerSpec, *, latents_path: str | Path, out_path: str | Path,
                      video_paths: list[str], start_seed: int, n_episodes: int,
                      max_steps: int = 300, subgoal: str = "retrieval",
                      subgoal_offset: int = 25, video_size: int = 256, fps: float = 10.0,
                      policy_seed: int | None = None, progress: bool = True) -> dict[str, Any]:
    """Run ``n_episodes`` of gym-pusht's task with one trained method and write LeRobot's
    ``eval_info.json`` layout to ``out_path`` (atomically) and the first ``len(video_paths)``
    episodes as MP4 (the simulator's frame at ``video_size`` px beside the goal image)."""
    from larc_core.world_model.latent_cache import load_latent_cache

    if subgoal not in SUBGOALS:
        raise ValueError(f"standard.subgoal must be one of {SUBGOALS}; got {subgoal!r}")
    if len(video_paths) > n_episodes:
        raise ValueError(f"{len(video_paths)} videos asked for but only {n_episodes} episodes")
    with DemoFile(spec.demo_path) as demo, torch_threads(1):
        controller, provenance = build_controller(spec)
        goal = goal_state(demo)
        if subgoal == "retrieval":
            cache = load_latent_cache(latents_path, provenance["world_model_sha256"],
                                      expected_n_frames=demo.n_frames, demo=demo)
            controller = SubgoalController(controller, SubgoalLibrary(
                cache.latents, demo, subgoal_offset))
        with PushTEnv(resolution=spec.resolution) as env:
            env.reset_to_state(goal)
            goal_frame = env.render()
            goal_video = env.render_size(video_size)
            records = []
            t0 = time.perf_counter()
            for i in progress_bar(range(n_episodes), desc=f"{spec.method} standard",
                                  unit="episode", disable=not progress):
                frames: list[np.ndarray] | None = [] if i < len(video_paths) else None
                rec = run_standard_episode(env, controller, start_seed + i, goal_frame,
                                           max_steps, frames, video_size)
                rec["episode_ix"] = i
                if frames is not None:
                    write_mp4(_goal_panel(frames, goal_video), video_paths[i], fps)
                records.append(rec)
            wall = time.perf_counter() - t0
    n = len(records)
    overall = {
        "avg_sum_reward": float(np.mean([r["sum_reward"] for r in records])),
        "avg_max_reward": float(np.mean([r["max_reward"] for r in records])),
        "pc_success": 100.0 * float(np.mean([r["success"] for r in records])),
        "n_episodes": n, "eval_s": wall, "eval_ep_s": wall / max(n, 1),
        "video_paths": [str(p) for p in video_paths],
    }
    doc = {
        "per_episode": records,
        "per_task": [{"task_group": "pusht", "task_id": 0, "metrics": {
            **{k: overall[k] for k in ("avg_sum_reward", "avg_max_reward", "pc_success",
                                       "n_episodes", "video_paths")},
            "sum_rewards": [r["sum_reward"] for r in records],
            "max_rewards": [r["max_reward"] for r in records],
            "successes": [r["success"] for r in records]}}],
        "per_group": {"pusht": {k: overall[k] for k in (
            "avg_sum_reward", "avg_max_reward", "pc_success", "n_episodes", "video_paths")}},
        "overall": overall,
        "larc": {"method": spec.method, "seed": policy_seed, "start_seed": int(start_seed),
                 "max_steps": int(max_steps), "subgoal": subgoal,
                 "subgoal_offset": int(subgoal_offset), "goal_state": goal.tolist(),
                 "success_coverage": SUCCESS_COVERAGE, **provenance},
    }
    log.info("%s standard task: %d/%d successes (%.1f%%), avg max reward %.3f, %.2f s/episode",
             spec.method, sum(r["success"] for r in records), n, overall["pc_success"],
             overall["avg_max_reward"], overall["eval_ep_s"])
    atomic_write_json(out_path, doc)
    return doc
