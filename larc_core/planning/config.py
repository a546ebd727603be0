"""The CEM planner's settings (:class:`CEMConfig`) and how a planner row's settings are read
from the workflow config. No torch: the workflow reads them when it parses."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from larc_core.config import ConfigError


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
