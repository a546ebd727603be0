"""What the workflow knows about an objective before anything trains: its settings class, what
it produces, what it starts from and the files it writes. No torch: Snakemake reads every
objective's :class:`ObjectiveSpec` when it parses the workflow, and a dry run stays quick."""

from __future__ import annotations

from dataclasses import dataclass, field

from larc_core.objectives.config import ObjectiveConfig
from larc_core.paths import POLICY_BACKBONE_FILE, POLICY_STATS_FILE

POLICY, LATENT_ACTION_MODEL = "policy", "latent_action_model"
"""What a stage produces: a goal-conditioned policy (evaluated like every policy row) or a
latent action model (read by other stages and by its report)."""

LOOP_FIELDS = ("steps", "batch_size", "lr", "weight_decay", "warmup_steps", "grad_clip",
               "checkpoint_every", "val_every")
"""Settings the generic loop reads from every objective's config."""

TRAIN_LOG_FILE = "train_log.jsonl"
"""Every stage's training log (one JSON line per logged step) in its checkpoint folder."""
POLICY_FILES = {"backbone": POLICY_BACKBONE_FILE, "stats": POLICY_STATS_FILE,
                "train_log": TRAIN_LOG_FILE}
"""The files of a policy stage: output name -> file name."""

INITS = ("none", "optional", "required")


@dataclass(frozen=True)
class ObjectiveSpec:
    """One objective as the workflow sees it (``larc_core/objectives/<name>/config.py``
    exports it as ``SPEC``; the objective class in ``objective.py`` names it as ``spec``)."""

    config_class: type[ObjectiveConfig]
    """Its settings; ``config_class.block`` is where they sit in the workflow config."""
    produces: str = POLICY
    """``POLICY`` or ``LATENT_ACTION_MODEL``."""
    init: str = "optional"
    """Initial checkpoint: ``"none"``, ``"optional"`` or ``"required"`` (a stage's
    ``init_from`` gives it: the same seed's product of that stage)."""
    output_files: dict[str, str] = field(default_factory=lambda: dict(POLICY_FILES))
    """Output name -> file name in the stage's checkpoint folder (the rule's named outputs);
    the first is the product other stages and the evaluation read."""

    def __post_init__(self) -> None:
        if self.produces not in (POLICY, LATENT_ACTION_MODEL):
            raise ValueError(f"{self.config_class.__name__}: produces must be {POLICY!r} or "
                             f"{LATENT_ACTION_MODEL!r}, not {self.produces!r}")
        if self.init not in INITS:
            raise ValueError(f"{self.config_class.__name__}: init must be one of {INITS}, not "
                             f"{self.init!r}")
