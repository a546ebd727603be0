"""The registry of every evaluated method and every training stage.

One entry of :data:`METHODS` defines a results-table row; a trained row carries its
:class:`Stage`, and a stage no row evaluates (one whose product other stages or reports read) is
listed in :data:`TRAINING_ONLY`. Everything else is derived from these entries: the Snakemake
training rules (``train_<stage>``, one loop in ``workflow/rules/policies.smk``, their outputs
those of the stage's objective), the evaluation rule each row runs under, the ``larc``
subcommands (``train-<stage>``) and ``--method`` choices, the config check of ``eval.methods``
and ``policy.<stage>``, the runtime and performance reports' rule names and floors, the training
curve titles and the DVC stages (``larc dvc-yaml``).

Adding a policy type (LeRobot style): a folder ``larc_core/policies/<backbone>/`` whose
``__init__`` exports ``POLICY`` (a :class:`~larc_core.policies.base.LatentPolicy` subclass with
a ``config_class``), plus one :class:`Method` line below (``tests/test_registry.py`` adds a toy
one). Adding a training objective: a folder ``larc_core/objectives/<name>/`` whose ``__init__``
exports ``OBJECTIVE`` (a :class:`~larc_core.objectives.base.Objective` subclass with a
``config_class``), plus a stage naming it (``tests/test_objectives.py`` adds a toy one). This
module is plain data: it imports nothing from the package, so every module can read it without an
import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

POLICY, PLANNER, REFERENCE = "policy", "planner", "reference"
"""Method kinds: a policy trained per seed; a planner on the frozen world model (no training,
evaluated once per offset); a reference (sanity) row that needs no model."""

EVAL_RULES = {POLICY: "eval", PLANNER: "eval_planner", REFERENCE: "eval_reference"}
"""Snakemake rule that evaluates each kind of method."""


@dataclass(frozen=True)
class Stage:
    """One training stage: rule ``train_<name>``, subcommand ``larc train-<name>``, one
    checkpoint folder ``<checkpoints>/seed<s>/`` per training seed holding its objective's
    outputs (a policy: ``shared_policy_backbone.pt``, ``action_stats.pt``; every stage:
    ``train_log.jsonl``)."""

    name: str
    """Identifier of the stage (rule and state-folder names, ``policy.<name>`` config block)."""
    checkpoints: str
    """Checkpoint root, relative to the workflow root (the published LARC layout)."""
    description: str
    """One line: what it trains (rule docstring, CLI help)."""
    objective: str = "bc"
    """Training objective: the folder ``larc_core/objectives/<objective>/`` (its settings, losses,
    sampling and outputs)."""
    backbone: str | None = ""
    """Policy folder under ``larc_core/policies/`` (default: ``name``); None for a stage whose
    objective produces no policy (a latent action model)."""
    init_from: str | None = None
    """Stage whose checkpoint (same seed) this one starts from; its backbone settings are that
    checkpoint's, so it has no ``policy.<name>`` backbone block."""
    uses: tuple[str, ...] = ()
    """Stages whose products (same seed) its objective reads, e.g. a latent action model."""
    priority: int = 0
    """Snakemake priority (the Chunk -> WM-FT chain is the run's critical path)."""
    max_replay_noise: float | None = None
    """Train on the episodes whose replay noise level is at most this (0: the demonstrator's
    own episodes), whatever ``policy.max_replay_noise`` says; None: the config's."""

    def __post_init__(self) -> None:
        if self.backbone == "":
            object.__setattr__(self, "backbone", self.name)

    @property
    def rule(self) -> str:
        """Snakemake rule that trains it."""
        return f"train_{self.name}"

    @property
    def command(self) -> str:
        """``larc`` subcommand that trains it."""
        return "train-" + self.name.replace("_", "-")

    @property
    def backbone_block(self) -> str | None:
        """Config block under ``policy:`` with its backbone settings (None: inherited)."""
        return None if self.init_from or not self.backbone else self.name

    def checkpoint_dir(self, seed: int | str) -> str:
        """Checkpoint folder of the policy trained with ``seed``."""
        return f"{self.checkpoints}/seed{seed}"


@dataclass(frozen=True)
class Method:
    """One row of the results table."""

    key: str
    """Identifier used in file names and config (``eval.methods``)."""
    label: str
    """Name printed in the table and figures."""
    kind: str
    """``POLICY``, ``PLANNER`` or ``REFERENCE``."""
    stage: Stage | None = None
    """The training stage whose checkpoints it evaluates (trained policies only)."""
    planner: str | None = None
    """Planner on the frozen world model (``"cem"``). Its settings are config ``planner:``, the
    receding horizon ``planner.receding[<key>]``."""

    def __post_init__(self) -> None:
        if self.kind not in EVAL_RULES:
            raise ValueError(f"method {self.key!r}: kind must be one of {sorted(EVAL_RULES)}")
        if (self.kind == POLICY) != (self.stage is not None):
            raise ValueError(f"method {self.key!r}: a stage is given exactly for kind {POLICY!r}")
        if (self.kind == PLANNER) != (self.planner is not None):
            raise ValueError(f"method {self.key!r}: a planner is given exactly for kind "
                             f"{PLANNER!r}")

    @property
    def learned(self) -> bool:
        """True for trained policies (evaluated once per training seed)."""
        return self.kind == POLICY

    @property
    def planned(self) -> bool:
        """True for planner rows: no training (evaluated once per offset) but the world model."""
        return self.kind == PLANNER

    @property
    def backbone(self) -> str | None:
        """Policy folder of its checkpoints; None for planner and reference rows."""
        return self.stage.backbone if self.stage else None

    @property
    def eval_rule(self) -> str:
        """Snakemake rule that evaluates it."""
        return EVAL_RULES[self.kind]

    def checkpoint_dir(self, seed: int | str) -> str:
        """Folder (relative to the workflow root) of the checkpoint trained with ``seed``."""
        if self.stage is None:
            raise ValueError(f"method {self.key!r} has no trained checkpoint")
        return self.stage.checkpoint_dir(seed)


_CHUNK = Stage("chunk", "checkpoints/larc_chunk_backbone_latent",
               "LARC-Chunk: an action chunk from (z_t, z_goal).", priority=10)

METHODS: dict[str, Method] = {
    m.key: m
    for m in (
        Method("larc_idm", "LARC-IDM", POLICY, Stage(
            "idm", "checkpoints/larc_idm_backbone_latent",
            "LARC-IDM: one action from (z_t, z_goal).")),
        Method("larc_chunk", "LARC-Chunk", POLICY, _CHUNK),
        Method("larc_chunk_wm_ft", "LARC-Chunk + WM-FT", POLICY, Stage(
            "wm_ft", "checkpoints/larc_chunk_backbone_wm_ft",
            "LARC-Chunk + WM-FT: the Chunk policy fine-tuned through the frozen predictor.",
            objective="wm_ft", backbone="chunk", init_from="chunk", priority=10)),
        # Baseline: inverse dynamics also conditioned on the steps left to the goal.
        Method("gc_idm", "GC-IDM", POLICY, Stage(
            "gc_idm", "checkpoints/gc_idm_backbone_latent",
            "GC-IDM baseline: one action from (z_t, z_goal) and the steps left to the goal.")),
        # Few action labels: LAPA (latent pretraining on every training episode, then the
        # labeled episodes) beside the same policy trained on those episodes alone.
        Method("lapa_chunk", "LAPA (Chunk)", POLICY, Stage(
            "lapa", "checkpoints/lapa_chunk_latent",
            "LAPA: the latent-pretrained Chunk policy fine-tuned on the labeled episodes.",
            objective="lapa", backbone="chunk", init_from="lapa_pretrain")),
        Method("lapa_idm", "LAPA (IDM)", POLICY, Stage(
            "lapa_idm", "checkpoints/lapa_idm_latent",
            "LAPA with LARC-IDM's network, fine-tuned on the labeled episodes.",
            objective="lapa", backbone="idm", init_from="lapa_idm_pretrain")),
        Method("larc_chunk_few", "LARC-Chunk (few labels)", POLICY, Stage(
            "chunk_few", "checkpoints/larc_chunk_few_labels",
            "LARC-Chunk trained on the labeled episodes alone (LAPA's baseline).",
            objective="lapa", backbone="chunk")),
        Method("larc_idm_few", "LARC-IDM (few labels)", POLICY, Stage(
            "idm_few", "checkpoints/larc_idm_few_labels",
            "LARC-IDM trained on the labeled episodes alone (LAPA's baseline).",
            objective="lapa", backbone="idm")),
        # LARC-IDM trained on the demonstrator's own episodes alone, without its noisy replays:
        # behaviour cloning averages the replays' noisy actions into pushes too blunt for
        # gym-pusht's last pixels (the row its standard task is reported for).
        Method("larc_idm_expert", "LARC-IDM (expert episodes)", POLICY, Stage(
            "idm_expert", "checkpoints/larc_idm_expert_episodes",
            "LARC-IDM trained on the demonstrator's own episodes (replay noise 0).",
            backbone="idm", max_replay_noise=0.0)),
        # LARA: LARC-Chunk with its features aligned to the refined latent action model's.
        Method("larc_chunk_lara", "LARC-Chunk + LARA", POLICY, Stage(
            "lara", "checkpoints/larc_chunk_backbone_lara",
            "LARC-Chunk + LARA: behaviour cloning aligned to latent actions (model refined).",
            objective="lara", backbone="chunk", uses=("lam",))),
        # Planner baseline on the same frozen world model (LeWM's CEM), committing 5 blocks
        # per plan (LeWM's default) or re-planning every block.
        Method("cem_commit5", "CEM (commit 5)", PLANNER, planner="cem"),
        Method("cem_replan1", "CEM (re-plan 1)", PLANNER, planner="cem"),
        # Sanity rows on the same pairs: a floor (the agent holds still) and the recorded
        # demonstration's PD targets replayed open loop from the start state.
        Method("noop", "No-op", REFERENCE),
        Method("replay", "Replay", REFERENCE),
    )
}

TRAINING_ONLY: tuple[Stage, ...] = (
    Stage("lam", "checkpoints/latent_action_model",
          "Latent action model: codes of the change z_t -> z_t+k, learned without actions.",
          objective="lam", backbone=None),
    Stage("lapa_pretrain", "checkpoints/lapa_pretrain_latent",
          "LAPA latent pretraining: the Chunk policy predicts latent actions, no action read.",
          objective="lapa_pretrain", backbone="chunk", uses=("lam",)),
    Stage("lapa_idm_pretrain", "checkpoints/lapa_idm_pretrain_latent",
          "LAPA latent pretraining of LARC-IDM's network, no action read.",
          objective="lapa_pretrain", backbone="idm", uses=("lam",)),
)
"""Stages trained for what other stages or reports read, not evaluated as a table row."""

STAGES: dict[str, Stage] = {
    s.name: s for s in (*(m.stage for m in METHODS.values() if m.stage), *TRAINING_ONLY)
}
"""Every trained stage, in registry order (keyed by ``Stage.name``)."""


def _check_registry() -> None:
    for stage in STAGES.values():
        if stage.init_from is not None and stage.init_from not in STAGES:
            raise ValueError(f"stage {stage.name!r} fine-tunes unknown stage {stage.init_from!r}")
        unknown = [u for u in stage.uses if u not in STAGES]
        if unknown:
            raise ValueError(f"stage {stage.name!r} uses unknown stages {unknown}")
    folders = [s.checkpoints for s in STAGES.values()]
    if len(set(folders)) != len(folders):
        raise ValueError(f"two stages share a checkpoint folder: {folders}")


_check_registry()


def get_method(key: str) -> Method:
    """The registered method ``key``, or a KeyError naming the known ones."""
    if key not in METHODS:
        raise KeyError(f"unknown method {key!r}; known: {sorted(METHODS)}")
    return METHODS[key]


def get_stage(name: str) -> Stage:
    """The registered training stage ``name``, or a KeyError naming the known ones."""
    if name not in STAGES:
        raise KeyError(f"unknown training stage {name!r}; known: {sorted(STAGES)}")
    return STAGES[name]


def stages_needed(method_keys: list[str]) -> list[str]:
    """Training stages the evaluation of ``method_keys`` needs: their own and every stage one
    of them starts from or uses, in registry order."""
    needed: set[str] = set()
    todo = [get_method(key).stage for key in method_keys]
    while todo:
        stage = todo.pop()
        if stage is None or stage.name in needed:
            continue
        needed.add(stage.name)
        todo.extend(STAGES[s] for s in (*stage.uses, *filter(None, [stage.init_from])))
    return [s for s in STAGES if s in needed]
