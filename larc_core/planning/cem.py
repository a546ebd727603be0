"""Cross-entropy-method planner on the frozen world model (LeWM's CEM baseline, REFERENCE §2).

The planner searches ``horizon`` action blocks in the world model's z-scored action space: it
samples candidate block sequences from a diagonal Gaussian, rolls all of them through the frozen
predictor in one batch, keeps the ``top_k`` with the lowest cost (mean squared distance of the
last predicted latent to the goal latent) and refits the Gaussian to them. After ``iterations``
rounds the Gaussian's mean is the plan. Shapes: N samples, H horizon blocks, A = frameskip *
action_dim (one block), D latent width, H0 history latents.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from larc_core.planning.config import CEMConfig
from larc_core.world_model import WorldModel


@dataclass
class CEMResult:
    """One plan and the optimisation trace that produced it."""

    actions: torch.Tensor
    """(H, A) raw relative action blocks of the plan (the final Gaussian mean, decoded)."""
    mean: torch.Tensor
    """(H, A) the final mean in z-scored action space (used to warm-start the next plan)."""
    elite_cost: list[float] = field(default_factory=list)
    """Mean cost of the ``top_k`` elites, per iteration."""
    best_cost: list[float] = field(default_factory=list)
    """Lowest cost among the candidates of each iteration."""


class CEMPlanner:
    """Batched CEM over the frozen world model's predictor.

    All ``samples`` candidates of an iteration are rolled out in one batch (``horizon``
    predictor calls of batch ``samples``), so a plan costs ``iterations * horizon`` batched
    predictor calls.
    """

    def __init__(self, world_model: WorldModel, cfg: CEMConfig) -> None:
        self.world_model = world_model.eval()
        self.cfg = cfg
        self.block_dim = world_model.cfg.action_block_dim

    def decode(self, z_actions: torch.Tensor) -> torch.Tensor:
        """Z-scored blocks (..., A) -> raw relative action blocks (..., A)."""
        wm = self.world_model
        return z_actions * wm.action_std + wm.action_mean

    @torch.no_grad()
    def imagine(
        self, history: torch.Tensor, z_actions: torch.Tensor,
        history_actions: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Last latent (N, D) predicted after N candidate block sequences.

        The same computation as ``WorldModel.rollout`` (checked in the tests), organised for
        many candidates: the action embeddings of all candidate blocks are computed once, the
        shared history once, and ``pred_proj`` runs on the one new latent of each step only.

        Args:
            history: (H0, D) context latents, oldest first, the last one the current latent.
            z_actions: (N, H, A) z-scored candidate block sequences.
            history_actions: (H0 - 1, A) raw blocks executed between the history latents.
        """
        wm = self.world_model
        n, horizon, _ = z_actions.shape
        h0 = history.shape[0]
        keep = wm.cfg.history
        latents = list(history.unsqueeze(0).expand(n, -1, -1).unbind(1))
        embs: list[torch.Tensor] = []
        if h0 > 1:
            if history_actions is None:  # WorldModel.rollout's convention: the training mean
                hist_z = torch.zeros((h0 - 1, self.block_dim), device=history.device)
            else:
                hist_z = wm.normalize_actions(history_actions)
            hist_emb = wm.action_encoder(hist_z.unsqueeze(0))[0]  # (H0 - 1, D)
            embs = list(hist_emb.unsqueeze(0).expand(n, -1, -1).unbind(1))
        cand_emb = wm.action_encoder(z_actions)  # (N, H, D)
        for step in range(horizon):
            embs.append(cand_emb[:, step])
            ctx_z = torch.stack(latents[-keep:], dim=1)
            ctx_e = torch.stack(embs[-keep:], dim=1)
            h = wm.predictor(ctx_z, ctx_e)[:, -1]
            latents.append(wm.pred_proj(h))
        return latents[-1]

    @torch.no_grad()
    def cost(
        self, history: torch.Tensor, z_goal: torch.Tensor, z_actions: torch.Tensor,
        history_actions: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Cost (N,) of N candidate plans: mean over D of (last predicted latent - goal)^2.

        Args: as :meth:`imagine`, plus ``z_goal`` (D,) the goal latent.
        """
        return (self.imagine(history, z_actions, history_actions) - z_goal).pow(2).mean(-1)

    @torch.no_grad()
    def plan(
        self,
        history: torch.Tensor,
        z_goal: torch.Tensor,
        history_actions: torch.Tensor | None = None,
        init_mean: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> CEMResult:
        """Plan ``horizon`` blocks from the latest latent of ``history`` toward ``z_goal``.

        Args:
            history: (H0, D) latents, oldest first (at most ``cfg.history`` are used).
            z_goal: (D,) or (1, D) goal latent.
            history_actions: (H0 - 1, A) raw blocks that led from each history latent to the
                next; None when H0 = 1.
            init_mean: (H, A) z-scored starting mean (warm start); zeros when None.
            generator: torch RNG of the candidate draws (seeded by the caller).
        """
        cfg, wm = self.cfg, self.world_model
        dev = wm.device
        keep = wm.cfg.history
        history = history[-keep:].to(dev)
        if history_actions is not None:
            history_actions = history_actions[-(history.shape[0] - 1):].to(dev) \
                if history.shape[0] > 1 else None
        z_goal = z_goal.reshape(-1).to(dev)
        shape = (cfg.horizon, self.block_dim)
        mean = torch.zeros(shape, device=dev) if init_mean is None else init_mean.to(dev).clone()
        if tuple(mean.shape) != shape:
            raise ValueError(f"init_mean must be (H, A) = {shape}, got {tuple(mean.shape)}")
        std = torch.full(shape, float(cfg.init_std), device=dev)
        result = CEMResult(actions=mean, mean=mean)
        for _ in range(cfg.iterations):
            noise = torch.randn((cfg.samples, *shape), generator=generator, device=dev)
            candidates = mean + std * noise
            candidates[0] = mean  # the current mean always competes
            costs = self.cost(history, z_goal, candidates, history_actions)
            top_cost, top = torch.topk(costs, cfg.top_k, largest=False, sorted=True)
            elites = candidates[top]
            mean = elites.mean(0)
            std = elites.std(0, unbiased=False)
            result.elite_cost.append(float(top_cost.mean()))
            result.best_cost.append(float(top_cost[0]))
        result.mean = mean
        result.actions = self.decode(mean)
        return result

    def shifted_mean(self, mean: torch.Tensor, executed: int) -> torch.Tensor:
        """Warm start: drop the ``executed`` first blocks of a (H, A) mean, append zeros."""
        tail = mean[executed:]
        pad = torch.zeros((executed, mean.shape[1]), device=mean.device, dtype=mean.dtype)
        return torch.cat([tail, pad], dim=0)
