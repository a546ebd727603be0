"""Training objectives, found by name (the way policies are).

An objective ``<name>`` is the folder ``larc_core/objectives/<name>/`` whose ``__init__`` exports
``OBJECTIVE``: an :class:`Objective` subclass whose ``config_class`` declares its settings. The
objectives in use are those the registered training stages name (``larc_core.methods``), so a new
objective is its folder plus the stage line that names it.
"""

from __future__ import annotations

import importlib

from larc_core.methods import STAGES, Stage
from larc_core.objectives.base import (
    LATENT_ACTION_MODEL,
    LOOP_FIELDS,
    POLICY,
    Objective,
    TrainData,
)
from larc_core.objectives.config import ObjectiveConfig, setting


def objective_class(name: str) -> type[Objective]:
    """The objective class ``name`` (one a registered stage names)."""
    known = sorted({s.objective for s in STAGES.values()})
    if name not in known:
        raise KeyError(f"unknown objective {name!r}; registered: {known}")
    module = importlib.import_module(f"larc_core.objectives.{name}")
    cls = getattr(module, "OBJECTIVE", None)
    if not (isinstance(cls, type) and issubclass(cls, Objective)):
        raise TypeError(f"larc_core.objectives.{name} must export OBJECTIVE, an Objective "
                        f"subclass")
    return cls


def stage_objective(stage: Stage | str) -> type[Objective]:
    """The objective class of a registered stage (or stage name)."""
    stage = STAGES[stage] if isinstance(stage, str) else stage
    return objective_class(stage.objective)


def _check(stage: Stage, cls: type[Objective]) -> None:
    """A stage and its objective must agree on what it produces and starts from."""
    where = f"stage {stage.name!r} (objective {stage.objective!r})"
    if cls.produces not in (POLICY, LATENT_ACTION_MODEL):
        raise ValueError(f"{where}: produces must be {POLICY!r} or {LATENT_ACTION_MODEL!r}")
    if (cls.produces == POLICY) != bool(stage.backbone):
        raise ValueError(f"{where}: a stage has a policy backbone exactly when its objective "
                         f"produces a policy (it produces {cls.produces!r})")
    if cls.init == "required" and not stage.init_from:
        raise ValueError(f"{where}: the objective fine-tunes a checkpoint; give init_from")
    if cls.init == "none" and stage.init_from:
        raise ValueError(f"{where}: the objective takes no initial checkpoint (init_from)")
    missing = [f for f in LOOP_FIELDS if f not in cls.config_class.__dataclass_fields__]
    if missing:
        raise ValueError(f"{where}: {cls.config_class.__name__} lacks the loop's settings "
                         f"{missing}")
    if not cls.config_class.block:
        raise ValueError(f"{where}: {cls.config_class.__name__}.block names no config block")


OBJECTIVE_REGISTRY: dict[str, type[Objective]] = {}
"""Objective name -> class, for every objective a registered stage names."""
for _stage in STAGES.values():
    OBJECTIVE_REGISTRY.setdefault(_stage.objective, objective_class(_stage.objective))
    _check(_stage, OBJECTIVE_REGISTRY[_stage.objective])


def config_blocks() -> dict[tuple[str, ...], type[ObjectiveConfig]]:
    """Config block path -> the config class that declares it (one objective per block)."""
    blocks: dict[tuple[str, ...], type[ObjectiveConfig]] = {}
    for name, cls in OBJECTIVE_REGISTRY.items():
        block = cls.config_class.block
        if block in blocks and blocks[block] is not cls.config_class:
            raise ValueError(f"objective {name!r}: config block {'.'.join(block)} is already "
                             f"declared by {blocks[block].__name__}")
        blocks[block] = cls.config_class
    return blocks


__all__ = [
    "LATENT_ACTION_MODEL",
    "OBJECTIVE_REGISTRY",
    "POLICY",
    "Objective",
    "ObjectiveConfig",
    "TrainData",
    "config_blocks",
    "objective_class",
    "setting",
    "stage_objective",
]
