"""Closed-loop controllers: turn rendered frames into relative PushT actions."""

from __future__ import annotations

from collections import deque

import numpy as np
import torch

from larc_core.envs.pusht import relative_to_target, target_to_relative
from larc_core.policies.base import ActionStats, LatentPolicy


class LatentPolicyController:
    """Encode the frame with the frozen world model, query the policy, execute part of the chunk.

    The policy is queried when the queue of pending actions is empty; ``execute_chunk_size``
    actions of each predicted chunk are executed before the next query (1 = re-plan every step).

    Horizon policies (``policy.uses_horizon``, GC-IDM) are also given the env steps left to the
    goal. The goal frame was recorded ``goal_offset`` steps after the start, so at step t of the
    episode (t = 0 at the first action) they get ``goal_offset - t``. The budget is twice the
    offset: once t reaches the offset the recorded schedule is over but the goal may not be
    reached yet, and the policy is then told 1 step is left (``max(goal_offset - t, 1)``), i.e.
    "reach it now", the closest condition seen in training (offsets >= 1).
    """

    uses_frames = True

    def __init__(
        self,
        world_model: torch.nn.Module,
        policy: LatentPolicy,
        stats: ActionStats,
        execute_chunk_size: int = 1,
        device: torch.device | str = "cpu",
        goal_offset: int | None = None,
    ) -> None:
        """``goal_offset``: env steps between the start and the goal frame of every episode;
        required by horizon policies, unused by the others."""
        if policy.uses_horizon and (goal_offset is None or goal_offset < 1):
            raise ValueError(
                f"policy {type(policy).__name__} reads the remaining steps to the goal: the "
                f"controller needs goal_offset >= 1, got {goal_offset!r}"
            )
        if execute_chunk_size > policy.chunk_len:
            raise ValueError(
                f"execute_chunk_size={execute_chunk_size} exceeds the policy's chunk length "
                f"{policy.chunk_len}"
            )
        self.world_model, self.policy, self.stats = world_model, policy, stats
        self.execute = execute_chunk_size
        self.device = torch.device(device)
        self.goal_offset = goal_offset
        self.z_goal: torch.Tensor | None = None
        self.queue: deque[np.ndarray] = deque()
        self.t = 0
        """Actions returned since the last :meth:`reset` (the episode's current step)."""

    @torch.no_grad()
    def encode(self, frame: np.ndarray) -> torch.Tensor:
        """(H, W, 3) uint8 frame -> (1, D) latent."""
        x = torch.from_numpy(np.ascontiguousarray(frame)).unsqueeze(0).to(self.device)
        return self.world_model.encode(x)

    def reset(self, goal_frame: np.ndarray, start_row: int) -> None:
        """Start an episode towards the goal image (H, W, 3) uint8 (``start_row`` unused)."""
        self.z_goal = self.encode(goal_frame)
        self.queue.clear()
        self.t = 0

    def remaining_steps(self) -> int | None:
        """Steps left to the goal at the current step, ``max(goal_offset - t, 1)``; None for
        policies that do not read it."""
        if not self.policy.uses_horizon:
            return None
        return max(int(self.goal_offset) - self.t, 1)

    @torch.no_grad()
    def policy_forward(self, z: torch.Tensor) -> np.ndarray:
        """(1, D) latent -> (K, A) raw relative actions."""
        k = self.remaining_steps()
        remaining = None if k is None else torch.tensor([k], device=self.device)
        return self.policy.act(z, self.z_goal, self.stats, remaining)[0].cpu().numpy()

    def act(self, frame: np.ndarray) -> np.ndarray:
        """Next relative action (A,) for the current frame (H, W, 3) uint8."""
        if not self.queue:
            chunk = self.policy_forward(self.encode(frame))
            self.queue.extend(chunk[: self.execute])
        self.t += 1
        return self.queue.popleft()


class NoOpController:
    """Sanity floor: the agent holds still (relative action 0 = PD target at the agent)."""

    uses_frames = False  # blind: the rollout skips rendering

    def reset(self, goal_frame: np.ndarray, start_row: int) -> None:
        pass

    def act(self, frame: np.ndarray | None) -> np.ndarray:
        return np.zeros(2, dtype=np.float32)


class ReplayController:
    """Sanity reference: replay the recorded demonstration from the start row to the goal row
    open loop, then hold still. It shows how reachable the goals are from a reset start state.

    What is replayed is each step's PD target, the recorded agent position plus the recorded
    relative action (clipped to the walls as the env does), not the relative action alone: a
    reset sets the velocities to zero, and relative actions replayed from a mid-episode start
    add the agent's lag to every later target (measured on the default run's pairs: 88 / 72 /
    76% success at offsets 25 / 35 / 50 for the relative actions, 100 / 92 / 98% for the
    targets). The controller reads the state, never the
    goal.
    """

    uses_frames = False  # open loop: the rollout skips rendering
    uses_state = True  # the rollout passes the (7,) state instead of a frame

    def __init__(self, actions: np.ndarray, offset: int, states: np.ndarray | None = None) -> None:
        """``actions`` (N, 2): the file's relative actions; ``offset``: goal offset in steps;
        ``states`` (N, >=2): the file's states, whose agent positions turn the actions into PD
        targets (None: replay the relative actions as recorded)."""
        self.actions, self.offset = np.asarray(actions, dtype=np.float32), int(offset)
        self.targets = None
        if states is not None:
            states = np.asarray(states, dtype=np.float64)
            if states.shape[0] != self.actions.shape[0]:
                raise ValueError(f"states ({states.shape[0]} rows) and actions "
                                 f"({self.actions.shape[0]} rows) must align")
            self.targets = relative_to_target(states[:, :2], self.actions.astype(np.float64))
        self.row = self.end = 0

    def reset(self, goal_frame: np.ndarray, start_row: int) -> None:
        self.row, self.end = int(start_row), int(start_row) + self.offset

    def act(self, state: np.ndarray | None) -> np.ndarray:
        """Next relative action (2,): toward the recorded target from the agent in ``state``."""
        if self.row >= self.end:
            return np.zeros(2, dtype=np.float32)
        row = self.row
        self.row += 1
        if self.targets is None or state is None:
            return self.actions[row]
        return target_to_relative(np.asarray(state[:2]), self.targets[row])
