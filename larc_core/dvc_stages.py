"""``dvc.yaml``: written from the method registry, so every trained stage is versioned.

DVC versions and shares the large artifacts; Snakemake is the one executor, so every DVC stage
is frozen and only records which outputs exist (``dvc commit``, ``dvc push`` / ``dvc pull``).
``larc dvc-yaml`` rewrites the file; ``tests/test_registry.py`` checks that the committed one is
what the registry gives.
"""

from __future__ import annotations

from larc_core import paths
from larc_core.methods import STAGES, stages_needed
from larc_core.objectives import stage_spec

HEADER = """\
# Written by `larc dvc-yaml` from the method registry (larc_core/methods.py): edit the registry
# or larc_core/dvc_stages.py, not this file.
# DVC versions and shares the large artifacts; Snakemake is the only executor.
# Every stage is frozen, so `dvc repro` never runs a step. After `snakemake`, run
# `dvc commit -f` to record the outputs in dvc.lock, `dvc push` to share them; on another
# machine `dvc pull` restores them and `snakemake --touch --cores 1 results/table.md` marks them
# up to date (DVC does not keep file times). Each path is tracked once, here (no .dvc files),
# and the small reports (results/*.md, figures) stay in git. Each `cmd` names the Snakemake
# target that builds the stage's outputs (the default three seeds), for reference.
stages:
"""

WORLD_MODEL_DIR = paths.WORLD_MODEL.rsplit("/", 1)[0]


CONFIG = "config/config.yaml"


def _stage(name: str, targets: list[str], deps: list[str], outs: list[str], params: list[str],
           comments: dict[str, str] | None = None) -> str:
    lines = [f"  {name}:", f"    cmd: snakemake --cores 2 {' '.join(targets)}", "    frozen: true",
             "    deps:"]
    lines += [f"      - {d}" + (f"  # {comments[d]}" if comments and d in comments else "")
              for d in deps]
    # The config sections the stage's outputs depend on: `dvc params diff` shows what changed.
    lines += ["    params:", f"      - {CONFIG}:"] + [f"          - {p}" for p in params]
    lines += ["    outs:"] + [f"      - {o}" for o in outs]
    return "\n".join(lines) + "\n"


def _metrics_and_plots(methods: list[str], claims: bool) -> str:
    """DVC's metrics (the table's success rates and latencies, rule table; the claims' paired
    differences, rule claims) and plots (success against offset from rule figures' data, the
    training-curve figures)."""
    lines = ["metrics:", f"  - {paths.METRICS}"] + ([f"  - {paths.CLAIMS_JSON}"] if claims else [])
    lines += ["plots:", "  - success_vs_offset:",
             "      template: linear", "      x: offset", "      y_label: success rate",
             "      y:", f"        {paths.SUCCESS_PLOT_CSV}:"]
    lines += [f"          - {m}" for m in methods]
    lines += [f"  - {paths.FIGURE}"]
    lines += [f"  - {paths.TRAIN_CURVES.format(name=n)}"
              for n in ["world_model", *stages_needed(methods)]]
    return "\n".join(lines) + "\n"


def dvc_yaml(seeds: list[int] | tuple[int, ...], methods: list[str], claims: bool = False) -> str:
    """The text of ``dvc.yaml`` for training seeds ``seeds`` and evaluated ``methods``: data,
    world model, latents, one stage per registered training stage, the evaluations, and the
    metrics (``claims``: with the claims' JSON) and plots of ``methods``."""
    text = HEADER
    text += _stage("collect_demos", [paths.DEMOS], [CONFIG], [paths.DEMOS], ["data"])
    text += _stage("train_world_model", [paths.WORLD_MODEL], [paths.DEMOS], [WORLD_MODEL_DIR],
                   ["seed", "world_model"])
    text += _stage("cache_latents", [paths.LATENTS], [paths.DEMOS, WORLD_MODEL_DIR],
                   [paths.LATENTS], ["world_model.train.cache_batch_size"])
    for stage in STAGES.values():
        objective = stage_spec(stage)
        deps = ([STAGES[stage.init_from].checkpoints, WORLD_MODEL_DIR] if stage.init_from
                else [paths.LATENTS])
        deps += [STAGES[u].checkpoints for u in stage.uses]
        product = next(iter(objective.output_files.values()))
        targets = [f"{stage.checkpoint_dir(s)}/{product}" for s in seeds]
        params = ["seeds", "policy.goal_offset_min", "policy.goal_offset_max",
                  ".".join(objective.config_class.block)]
        params += [f"policy.{stage.backbone_block}"] if stage.backbone_block else []
        text += _stage(stage.rule, targets, deps, [stage.checkpoints], params)
    # The evaluations read the policies (and the CEM rows the world model).
    deps = [s.checkpoints for s in STAGES.values() if s.backbone] + [WORLD_MODEL_DIR]
    text += _stage("evaluate", [paths.TABLE, paths.PAIR_DRAWS_MD], deps, [paths.EVAL.split("/{", 1)[0]],
                   ["eval", "planner", "pair_draws"], comments={WORLD_MODEL_DIR: "the CEM rows plan with it"})
    return text + _metrics_and_plots(methods, claims)
