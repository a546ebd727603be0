"""Closed-loop CEM control in the PushT simulator: the controller protocol of
``larc_core.evaluation.rollout`` around :class:`~larc_core.planning.cem.CEMPlanner`."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
import torch

from larc_core.planning.cem import CEMPlanner
from larc_core.planning.config import CEMConfig
from larc_core.world_model import WorldModel


def episode_seed(seed: int, start_row: int) -> int:
    """Seed of one episode's candidate draws: a function of the evaluation seed and the pair's
    start row only, so an episode plans the same whatever ran before it (parallel evaluation
    gives the records of the sequential one)."""
    return int(np.random.SeedSequence([int(seed), int(start_row) % 2**32]).generate_state(1)[0])


class CEMController:
    """Model-predictive control with the CEM planner on the frozen world model.

    Every ``frameskip`` env steps (a block boundary) the frame is encoded and appended to a
    latent history (with the raw action block executed since the previous boundary), so the
    predictor sees the real context of up to ``history`` latents. When the queue of planned
    actions is empty, the planner plans ``horizon`` blocks from that history and the first
    ``receding`` blocks (``receding * frameskip`` env steps) are queued.
    """

    uses_frames = True

    def __init__(
        self, world_model: WorldModel, cfg: CEMConfig, seed: int,
        device: torch.device | str = "cpu",
    ) -> None:
        self.world_model = world_model.eval()
        self.planner = CEMPlanner(world_model, cfg)
        self.cfg, self.seed = cfg, int(seed)
        self.device = torch.device(device)
        self.frameskip = world_model.cfg.frameskip
        self.action_dim = world_model.cfg.action_dim
        self.generator = torch.Generator(device=self.device)
        self.z_goal: torch.Tensor | None = None
        self.queue: deque[np.ndarray] = deque()
        self._reset_history()

    @property
    def env_steps_per_decision(self) -> int:
        """Env steps executed from each plan: ``receding * frameskip``."""
        return self.cfg.receding * self.frameskip

    def _reset_history(self) -> None:
        self.latents: list[torch.Tensor] = []  # (D,) each, at block boundaries, oldest first
        self.blocks: list[torch.Tensor] = []  # (A,) raw blocks between consecutive latents
        self.pending: list[np.ndarray] = []  # raw actions of the block being executed
        self.step = 0
        self.prev_mean: torch.Tensor | None = None
        self.elite_first: list[float] = []
        self.elite_last: list[float] = []

    @torch.no_grad()
    def encode(self, frame: np.ndarray) -> torch.Tensor:
        """(H, W, 3) uint8 frame -> (1, D) latent."""
        x = torch.from_numpy(np.ascontiguousarray(frame)).unsqueeze(0).to(self.device)
        return self.world_model.encode(x)

    def reset(self, goal_frame: np.ndarray, start_row: int) -> None:
        """Start an episode toward the goal image (H, W, 3) uint8; reseed from the start row."""
        self.z_goal = self.encode(goal_frame)[0]
        self.queue.clear()
        self._reset_history()
        self.generator.manual_seed(episode_seed(self.seed, start_row))

    def context(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The planner's inputs: history (H0, D) and the raw blocks between them (H0 - 1, A)."""
        keep = self.world_model.cfg.history
        latents = self.latents[-keep:]
        history = torch.stack(latents)
        blocks = self.blocks[len(self.blocks) - (len(latents) - 1):]
        return history, (torch.stack(blocks) if blocks else None)

    def plan(self) -> np.ndarray:
        """Plan from the current context; returns the (receding * frameskip, 2) raw actions to
        execute and remembers the mean for the next warm start."""
        history, history_actions = self.context()
        init = None
        if self.cfg.warm_start and self.prev_mean is not None:
            init = self.planner.shifted_mean(self.prev_mean, self.cfg.receding)
        res = self.planner.plan(history, self.z_goal, history_actions, init, self.generator)
        self.prev_mean = res.mean
        self.elite_first.append(res.elite_cost[0])
        self.elite_last.append(res.elite_cost[-1])
        blocks = res.actions[: self.cfg.receding].cpu().numpy()
        return blocks.reshape(-1, self.action_dim).astype(np.float32)

    def act(self, frame: np.ndarray) -> np.ndarray:
        """Next relative action (2,) for the current frame (H, W, 3) uint8."""
        if self.step % self.frameskip == 0:
            z = self.encode(frame)[0]
            if self.latents:  # close the block executed since the previous boundary
                block = np.concatenate(self.pending).astype(np.float32)
                self.blocks.append(torch.from_numpy(block).to(self.device))
                self.pending = []
            self.latents.append(z)
            keep = self.world_model.cfg.history
            self.latents = self.latents[-keep:]
            self.blocks = self.blocks[len(self.blocks) - (len(self.latents) - 1):]
        if not self.queue:
            self.queue.extend(self.plan())
        action = self.queue.popleft()
        self.pending.append(action)
        self.step += 1
        return action

    def episode_info(self) -> dict[str, Any]:
        """Per-episode planner diagnostics for the evaluation record (deterministic values)."""
        n = len(self.elite_first)
        return {
            "plans": n,
            "elite_cost_first_iteration": float(np.mean(self.elite_first)) if n else None,
            "elite_cost_last_iteration": float(np.mean(self.elite_last)) if n else None,
        }
