"""Cross-entropy-method planner on the frozen world model (LeWM's CEM baseline, REFERENCE §2).

The planner searches ``horizon`` action blocks in the world model's z-scored action space: it
samples candidate block sequences from a diagonal Gaussian, rolls all of them through the frozen
predictor in one batch, keeps the ``top_k`` with the lowest cost (mean squared distance of the
last predicted latent to the goal latent) and refits the Gaussian to them. After ``iterations``
rounds the Gaussian's mean is the plan. Shapes: N samples, H horizon blocks, A = frameskip *
action_dim (one block), D latent width, H0 history latents.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch

from larc_core.config import ConfigError
from larc_core.world_model import WorldModel


class PlannerConfigError(ConfigError):
    """A planner setting is missing, mistyped or out of range."""


@dataclass(frozen=True)
class CEMConfig:
    """CEM settings; the defaults are LeWM's PushT planner (REFERENCE §2)."""

    samples: int = 300
    """Candidate action-block sequences drawn per iteration (the mean is always one of them)."""
    iterations: int = 30
    """Sample-select-refit rounds per plan."""
    top_k: int = 30
    """Elite candidates (lowest cost) the Gaussian is refitted to."""
    horizon: int = 5
    """Action blocks per plan (a block = ``frameskip`` env steps)."""
    receding: int = 5
    """Blocks executed from each plan before re-planning (5 = LeWM's commit 5; 1 = re-plan
    every block). At most ``horizon``."""
    init_std: float = 1.0
    """Initial standard deviation of the sampling Gaussian, in z-scored action units."""
    warm_start: bool = True
    """Start the next plan's mean from the unexecuted remainder of the previous plan (zeros
    appended for the new blocks) instead of from zeros; the std always restarts at
    ``init_std``."""

    def __post_init__(self) -> None:
        for name in ("samples", "iterations", "top_k", "horizon", "receding"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise PlannerConfigError(f"planner {name} must be an integer >= 1, got {v!r}")
        if self.top_k > self.samples:
            raise PlannerConfigError(
                f"planner top_k ({self.top_k}) must be <= samples ({self.samples})"
            )
        if self.receding > self.horizon:
            raise PlannerConfigError(
                f"planner receding ({self.receding}) must be <= horizon ({self.horizon}): a plan "
                "cannot execute more blocks than it holds"
            )
        if not isinstance(self.init_std, int | float) or not self.init_std > 0:
            raise PlannerConfigError(f"planner init_std must be > 0, got {self.init_std!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CEMConfig:
        """Build from a mapping (missing fields take the defaults); unknown keys are refused."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise PlannerConfigError(
                f"planner config: unknown field(s) {unknown}; expected a subset of {sorted(names)}"
            )
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def planner_settings(section: dict[str, Any] | None, method: str) -> dict[str, Any]:
    """The validated :class:`CEMConfig` fields of one planner row from the config's
    ``planner:`` section: the shared settings, then the row's own entries of ``rows[method]``
    (e.g. a cheaper setting for a row that plans every block), plus ``receding[method]``.

    Raises:
        PlannerConfigError: no section, no receding entry for ``method``, an unknown field in
            ``rows[method]``, or a bad value.
    """
    if not section:
        raise PlannerConfigError(
            f"method {method!r} is a CEM planner row but the config has no planner: section"
        )
    receding = section.get("receding") or {}
    if method not in receding:
        raise PlannerConfigError(
            f"planner.receding has no entry for {method!r} (it has {sorted(receding)}): say how "
            "many blocks each plan of that row executes"
        )
    names = {f.name for f in dataclasses.fields(CEMConfig)} - {"receding"}
    values = {k: v for k, v in section.items() if k in names}
    own = (section.get("rows") or {}).get(method) or {}
    unknown = sorted(set(own) - names)
    if unknown:
        raise PlannerConfigError(
            f"planner.rows.{method}: unknown field(s) {unknown}; expected a subset of "
            f"{sorted(names)}")
    values.update(own)
    try:
        return CEMConfig(**values, receding=receding[method]).to_dict()
    except PlannerConfigError as exc:
        raise PlannerConfigError(f"planner settings of {method!r}: {exc}") from exc


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
