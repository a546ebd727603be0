"""Training objectives, found by name (the way policies are).

An objective ``<name>`` is the folder ``larc_core/objectives/<name>/`` with

- ``config.py``: its settings class (an :class:`ObjectiveConfig`) and ``SPEC``, an
  :class:`ObjectiveSpec` saying what it produces, what it starts from and which files it writes.
  No torch: the workflow reads every spec when Snakemake parses it;
- ``objective.py``: ``OBJECTIVE``, the :class:`~larc_core.objectives.base.Objective` subclass
  that trains it (its ``spec`` is ``SPEC``), imported only when a stage trains.

The objectives in use are those the registered training stages name (``larc_core.methods``), so a
new objective is its folder plus the stage line that names it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from larc_core.lazy import lazy_attributes
from larc_core.methods import STAGES, Stage
from larc_core.objectives.config import ObjectiveConfig, setting
from larc_core.objectives.spec import (
    LATENT_ACTION_MODEL,
    LOOP_FIELDS,
    POLICY,
    ObjectiveSpec,
)

if TYPE_CHECKING:
    from larc_core.objectives.base import Objective


def _registered(name: str) -> None:
    known = sorted({s.objective for s in STAGES.values()})
    if name not in known:
        raise KeyError(f"unknown objective {name!r}; registered: {known}")


def objective_spec(name: str) -> ObjectiveSpec:
    """The spec of objective ``name`` (one a registered stage names), without importing torch."""
    _registered(name)
    spec = getattr(importlib.import_module(f"larc_core.objectives.{name}.config"), "SPEC", None)
    if not isinstance(spec, ObjectiveSpec):
        raise TypeError(f"larc_core.objectives.{name}.config must export SPEC, an "
                        f"ObjectiveSpec")
    return spec


def objective_class(name: str) -> type[Objective]:
    """The class that trains objective ``name`` (imports torch)."""
    from larc_core.objectives.base import Objective

    spec = objective_spec(name)
    cls = getattr(importlib.import_module(f"larc_core.objectives.{name}.objective"), "OBJECTIVE",
                  None)
    if not (isinstance(cls, type) and issubclass(cls, Objective)):
        raise TypeError(f"larc_core.objectives.{name}.objective must export OBJECTIVE, an "
                        f"Objective subclass")
    if cls.spec is not spec:
        raise TypeError(f"{cls.__name__}.spec must be larc_core.objectives.{name}.config.SPEC")
    return cls


def stage_spec(stage: Stage | str) -> ObjectiveSpec:
    """The objective spec of a registered stage (or stage name)."""
    stage = STAGES[stage] if isinstance(stage, str) else stage
    return objective_spec(stage.objective)


def stage_objective(stage: Stage | str) -> type[Objective]:
    """The objective class of a registered stage (or stage name); imports torch."""
    stage = STAGES[stage] if isinstance(stage, str) else stage
    return objective_class(stage.objective)


def _check(stage: Stage, spec: ObjectiveSpec) -> None:
    """A stage and its objective must agree on what it produces and starts from."""
    where = f"stage {stage.name!r} (objective {stage.objective!r})"
    if (spec.produces == POLICY) != bool(stage.backbone):
        raise ValueError(f"{where}: a stage has a policy backbone exactly when its objective "
                         f"produces a policy (it produces {spec.produces!r})")
    if spec.init == "required" and not stage.init_from:
        raise ValueError(f"{where}: the objective fine-tunes a checkpoint; give init_from")
    if spec.init == "none" and stage.init_from:
        raise ValueError(f"{where}: the objective takes no initial checkpoint (init_from)")
    missing = [f for f in LOOP_FIELDS if f not in spec.config_class.__dataclass_fields__]
    if missing:
        raise ValueError(f"{where}: {spec.config_class.__name__} lacks the loop's settings "
                         f"{missing}")
    if not spec.config_class.block:
        raise ValueError(f"{where}: {spec.config_class.__name__}.block names no config block")


OBJECTIVE_SPECS: dict[str, ObjectiveSpec] = {}
"""Objective name -> spec, for every objective a registered stage names."""
for _stage in STAGES.values():
    OBJECTIVE_SPECS.setdefault(_stage.objective, objective_spec(_stage.objective))
    _check(_stage, OBJECTIVE_SPECS[_stage.objective])


def config_blocks() -> dict[tuple[str, ...], type[ObjectiveConfig]]:
    """Config block path -> the config class that declares it (one objective per block)."""
    blocks: dict[tuple[str, ...], type[ObjectiveConfig]] = {}
    for name, spec in OBJECTIVE_SPECS.items():
        block = spec.config_class.block
        if block in blocks and blocks[block] is not spec.config_class:
            raise ValueError(f"objective {name!r}: config block {'.'.join(block)} is already "
                             f"declared by {blocks[block].__name__}")
        blocks[block] = spec.config_class
    return blocks


# The training side imports torch: loaded on first use, not when the workflow parses.
__getattr__ = lazy_attributes(__name__, {"Objective": "base", "TrainData": "base"})


__all__ = [
    "LATENT_ACTION_MODEL",
    "OBJECTIVE_SPECS",
    "POLICY",
    "Objective",
    "ObjectiveConfig",
    "ObjectiveSpec",
    "TrainData",
    "config_blocks",
    "objective_class",
    "objective_spec",
    "setting",
    "stage_objective",
    "stage_spec",
]
