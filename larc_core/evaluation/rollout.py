"""Run evaluation episodes in the PushT simulator and record per-episode outcomes."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from tqdm.auto import tqdm

from larc_core.envs import PushTEnv, goal_reached, pose_errors


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
) -> dict[str, Any]:
    """One goal-reaching episode with the latched success test of REFERENCE §2.

    The env is set exactly to ``start_state`` (7,), the controller is given the recorded goal
    frame (H, W, 3), and the episode stops at the first step whose state passes the success
    test, or after ``budget`` steps.
    """
    env.reset_to_state(start_state)
    controller.reset(goal_frame, start_row)
    goal_state = np.asarray(goal_state, dtype=np.float64)
    state = env.state
    success_step = None
    best_pos = float("inf")
    render = getattr(controller, "uses_frames", True)
    for step in range(budget):
        state = env.step(controller.act(env.render() if render else None))
        pos_err, _ = pose_errors(state, goal_state)
        best_pos = min(best_pos, float(pos_err))
        if goal_reached(state, goal_state):
            success_step = step + 1
            break
    pos_err, ang_err = pose_errors(state, goal_state)
    return {
        "success": success_step is not None,
        "steps_to_success": success_step,
        "steps": success_step if success_step is not None else budget,
        "final_position_error": float(pos_err),
        "final_angle_error": float(ang_err),
        "best_position_error": best_pos,
        "final_state": [float(x) for x in state],
    }


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
    for i, pair in enumerate(tqdm(pairs, desc=desc, disable=not progress)):
        rec = run_episode(
            env, controller, np.asarray(pair["start_state"]), np.asarray(pair["goal_state"]),
            goal_frames[i], budget, int(pair["start_row"]),
        )
        records.append(
            {
                "index": i,
                "episode": pair["episode"],
                "start_row": pair["start_row"],
                "goal_row": pair["goal_row"],
                **rec,
            }
        )
    return records
