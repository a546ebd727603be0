# Shared helpers: config validation, which artifacts are linked, and path functions.
import os
from pathlib import Path

from snakemake.resources import Resource

from larc_core import paths, settings
from larc_core.artifacts import ARTIFACTS, IMPORTED_WORLD_MODEL, find_artifacts, link_target
from larc_core.config import validate_config
from larc_core.methods import METHODS, STAGES, stages_needed
from larc_core.objectives import config_blocks, stage_spec


# The cores this machine gives the run (its CPU affinity, not the host's count). `--cores N` is
# Snakemake's thread budget and users copy it from elsewhere: `--cores 8` on a 2-core machine
# ran 7-8 threads on 2 cores, every stage slowed 2-4x and the timings inside the run were
# inflated. So a local run's budget is capped at the machine's cores: running jobs never ask for
# more threads than it has, whatever `--cores` says (a smaller `--cores` still lowers it).
# Capping Snakemake's own core count (not a separate resource) also stops its ILP scheduler
# from re-solving while every core is taken (measured: a `cbc` process at every poll, load
# average 2.35 on 2 cores). Cluster executors (`--jobs` with a profile) give each job its own
# allocation: no cap there.
MACHINE_CORES = len(os.sched_getaffinity(0))
_CORES = workflow.global_resources["_cores"].value  # None in a dry run without --cores
if workflow.nodes is None and _CORES is not None and _CORES > MACHINE_CORES:
    workflow.global_resources["_cores"] = Resource("_cores", MACHINE_CORES)


# Threads of the multi-core stages (data collection workers, world-model training, latent
# caching, views): two, as measured and tuned on the 2-core reference machine, never more
# than the machine has. Same thread count, same floating-point results.
MULTI_THREADS = min(2, MACHINE_CORES)


# The schema file plus the training objectives' blocks from their config classes (so not
# Snakemake's validate(), which reads one file): defaults filled in, then the cross-field checks.
validate_config(config, source="workflow config")

# Published artifacts found in artifacts.dir (checked at parse time, before any job runs);
# each one replaces the rule that would build it.
LINKED = find_artifacts(config["artifacts"].get("dir"))
EVAL_METHODS = config["eval"]["methods"]
EVAL_OFFSETS = [int(o) for o in config["eval"]["offsets"]]
SEEDS = [int(s) for s in config["seeds"]]
TRAINED_METHODS = [m for m in EVAL_METHODS if METHODS[m].learned]
REFERENCE_METHODS = [m for m in EVAL_METHODS if not (METHODS[m].learned or METHODS[m].planned)]
PLANNER_METHODS = [m for m in EVAL_METHODS if METHODS[m].planned]
# results/world_model.md compares these LARC rows with their true-state ceiling (rule
# state_ceiling) and shows LARC-Chunk's imagined chunk (rule world_model_views).
GAP_METHODS = [m for m in ("larc_idm", "larc_chunk") if m in TRAINED_METHODS]
RUN_STATE_CEILING = bool(GAP_METHODS and config["state_ceiling"]["stages"])
RUN_WM_VIEWS = "larc_chunk" in TRAINED_METHODS
# Every evaluated method's settings, computed (and the CEM rows' validated) at parse time: a
# bad value fails before any job runs.
EVAL_SETTINGS = {m: settings.evaluate(config, m) for m in EVAL_METHODS}
# The pair-draw check covers the rows and offsets of pair_draws: that this run evaluates.
PAIR_DRAW_METHODS = [m for m in config["pair_draws"]["methods"] if m in TRAINED_METHODS]
PAIR_DRAW_OFFSETS = [int(o) for o in config["pair_draws"]["offsets"] if int(o) in EVAL_OFFSETS]
RUN_PAIR_DRAWS = bool(PAIR_DRAW_METHODS and PAIR_DRAW_OFFSETS)
GPU = 0 if config["device"] == "cpu" else 1


# Evaluation jobs run their episodes in one process: the run has many of them (48 by default),
# so parallel jobs fill the cores, and spawned episode workers would only add their start-up
# (measured: 2 workers per job used 1.24 of the 2 cores they held, 10.5 CPU s per job).
# `larc eval --workers N` still spreads one evaluation over N processes.
EVAL_THREADS = 1
PLANNER_THREADS = 1


wildcard_constraints:
    method="|".join(METHODS),
    offset=r"\d+",
    seed=r"\d+",
    draw=r"\d+",


def world_model_path():
    """The linked published checkpoint, converted by import_world_model, if one was given;
    else the one this workflow trains."""
    return IMPORTED_WORLD_MODEL if "world_model" in LINKED else paths.WORLD_MODEL


def linked_targets():
    return [link_target(k, src) for k, src in LINKED.items()]


def stage_linked(stage):
    """True when a published checkpoint replaces the stage's training (LARC-Chunk's)."""
    return stage == "chunk" and "chunk_backbone" in LINKED


def policy_dir(stage, seed):
    """Checkpoint folder of one stage and seed. A linked published Chunk checkpoint is a single
    model: every seed evaluates it and fine-tunes WM-FT from it."""
    if stage_linked(stage):
        return str(Path(ARTIFACTS["chunk_backbone"].target).parent)
    return paths.policy_dir(stage, seed)


def stage_files(stage, seed):
    """The product files of one stage and seed (those a consumer reads: every output of its
    objective but the training log)."""
    folder = policy_dir(stage, seed)
    return {name: f"{folder}/{file}" for name, file in stage_spec(stage).output_files.items()
            if name != "train_log"}


def policy_files(stage, seed):
    """The checkpoint files of one policy stage and seed: backbone and stats."""
    files = stage_files(stage, seed)
    return {"backbone": files["backbone"], "stats": files["stats"]}


def eval_inputs(wildcards):
    """Data and pairs for every method; world model and the seed's checkpoint for the LARC
    policies; the world model for the planner rows (the No-op and Replay sanity rows need
    neither, and have no seed)."""
    inputs = {"h5": paths.DEMOS, "pairs": paths.PAIRS.format(offset=wildcards.offset)}
    method = METHODS[wildcards.method]
    if method.planned:
        inputs["world_model"] = world_model_path()
    if method.learned:
        inputs["world_model"] = world_model_path()
        inputs.update(policy_files(method.stage.name, wildcards.seed))
    return inputs


def eval_files():
    """Every result the table reads: trained methods per seed and offset, the others (sanity
    and planner rows) per offset."""
    return expand(
        paths.EVAL, method=TRAINED_METHODS, seed=SEEDS, offset=EVAL_OFFSETS
    ) + expand(
        paths.EVAL_REFERENCE, method=REFERENCE_METHODS + PLANNER_METHODS, offset=EVAL_OFFSETS
    )


def draw_eval_inputs(wildcards):
    """As eval_inputs, with the other draw's pairs."""
    return {**eval_inputs(wildcards),
            "pairs": paths.DRAW_PAIRS.format(draw=wildcards.draw, offset=wildcards.offset)}


def pair_draw_files():
    """{method: {"h<offset>": the table's files, "draw<seed>_h<offset>": another draw's}}."""
    draws = config["pair_draws"]["seeds"]
    return {
        m: {
            **{f"h{o}": [paths.EVAL.format(method=m, seed=s, offset=o) for s in SEEDS]
               for o in PAIR_DRAW_OFFSETS},
            **{f"draw{r}_h{o}": [paths.DRAW_EVAL.format(draw=r, method=m, seed=s, offset=o)
                                 for s in SEEDS]
               for r in draws for o in PAIR_DRAW_OFFSETS},
        }
        for m in PAIR_DRAW_METHODS
    }


def wm_ft_point_inputs(wildcards):
    """Data, latents, world model, the sweep seeds' Chunk checkpoints, the tuning pairs."""
    inputs = {"h5": paths.DEMOS, "latents": paths.LATENTS, "world_model": world_model_path()}
    for s in config["wm_ft_sweep"]["seeds"]:
        inputs[f"chunk_seed{s}"] = policy_files("chunk", s)["backbone"]
    for o in EVAL_OFFSETS:
        inputs[f"pairs_h{o}"] = paths.TUNING_PAIRS.format(offset=o)
    return inputs


def claim_eval_files():
    """The evaluation files of every method a claim (config claims:) compares."""
    methods = {m for c in settings.claims(config)["claims"] for m in (c["a"], c["b"])}
    return [f for f in eval_files() if Path(f).parent.name in methods]


CLAIMS_OUTPUTS = [paths.CLAIMS_MD] if settings.claims(config)["claims"] else []


def latency_inputs(wildcards):
    """Data, the first offset's pairs (start frame and goal image), the world model, the first
    seed's checkpoint of every LARC policy, and every evaluation file (for the success axis)."""
    inputs = {
        "h5": paths.DEMOS,
        "pairs": paths.PAIRS.format(offset=EVAL_OFFSETS[0]),
        "world_model": world_model_path(),
        "evals": eval_files(),
    }
    for m in TRAINED_METHODS:
        files = policy_files(METHODS[m].stage.name, SEEDS[0])
        inputs[f"backbone_{m}"], inputs[f"stats_{m}"] = files["backbone"], files["stats"]
    return inputs


# Training stages this config runs: those whose checkpoints an evaluated method reads, the
# stages they start from or use, and the latent action model when its report is on (a linked published Chunk checkpoint replaces that stage). A stage
# no evaluated method needs is never trained, plotted or benchmarked.
# The latent action model's report (rule lam_report) needs its stage trained for every seed.
RUN_LAM = bool(config["lam_report"]["enabled"])
_NEEDED = set(stages_needed(EVAL_METHODS)) | ({"lam"} if RUN_LAM else set())
TRAINED_STAGES = [s for s in STAGES if s in _NEEDED and not stage_linked(s)]

# Training logs that get a curves figure (one figure per stage, one line per seed): the world
# model (when this workflow trains it) and every policy stage it trains.
TRAIN_LOGS = {"world_model": ["checkpoints/world_model/train_log.jsonl"]} if "world_model" not in LINKED else {}
TRAIN_LOGS.update(
    {stage: [f"{paths.policy_dir(stage, s)}/train_log.jsonl" for s in SEEDS]
     for stage in TRAINED_STAGES}
)


wildcard_constraints:
    name="|".join(TRAIN_LOGS) or "none",


def training_curve_files():
    return expand(paths.TRAIN_CURVES, name=list(TRAIN_LOGS))


def benchmark_rules():
    """Benchmark file -> the rule that writes it, for every heavy job this workflow runs
    (linked artifacts run nothing): rule runtime names each job's real rule from it."""
    files = {f"results/benchmarks/{rule}.tsv": rule for rule, artifact in (
        ("collect_demos", "data"), ("train_world_model", "world_model"),
        ("cache_latents", "latents")) if artifact not in LINKED}
    for stage in TRAINED_STAGES:
        files.update({f"results/benchmarks/{STAGES[stage].rule}_seed{s}.tsv": STAGES[stage].rule
                      for s in SEEDS})
    files["results/benchmarks/world_model_health.tsv"] = "world_model_health"
    files["results/benchmarks/counterfactual.tsv"] = "counterfactual"
    if RUN_STATE_CEILING:
        files["results/benchmarks/state_ceiling.tsv"] = "state_ceiling"
    if RUN_WM_VIEWS:
        files["results/benchmarks/world_model_views.tsv"] = "world_model_views"
    for m in EVAL_METHODS:
        for o in EVAL_OFFSETS:
            for s in SEEDS if METHODS[m].learned else [None]:
                name = f"eval_{m}_h{o}" if s is None else f"eval_{m}_seed{s}_h{o}"
                files[f"results/benchmarks/{name}.tsv"] = METHODS[m].eval_rule
    return files


def benchmark_files():
    """Benchmark files of the heavy jobs this workflow runs."""
    return list(benchmark_rules())


def health_inputs(wildcards):
    """The world model, its latents and data; for the report's extra sections the LARC-IDM and
    LARC-Chunk evaluations with their true-state ceiling, the pictures, and the settings log."""
    inputs = {"h5": paths.DEMOS, "world_model": world_model_path(), "latents": paths.LATENTS,
              "counterfactual": paths.COUNTERFACTUAL}
    if RUN_STATE_CEILING:
        inputs["state_ceiling"] = paths.STATE_CEILING
        inputs["gap_evals"] = expand(paths.EVAL, method=GAP_METHODS, seed=SEEDS,
                                     offset=EVAL_OFFSETS)
    if RUN_WM_VIEWS:
        inputs["views"] = list(paths.WM_VIEWS.values())
    if Path(paths.WM_PROBE_LOG).exists():
        inputs["probe_log"] = paths.WM_PROBE_LOG
    return inputs


def performance_settings():
    """The work settings rule performance computes the jobs' floors from (see
    larc_core/reporting/performance.py: FloorModel)."""
    policy, planner = config["policy"], config.get("planner") or {}
    return {
        "wm_steps": int(config["world_model"]["train"]["steps"]),
        "policy_steps": {
            **{name: int(settings.objective_block(config, stage_spec(name).config_class.block)["steps"])
               for name in STAGES},
            "state": int(policy["train"]["steps"]),
        },
        "threads": {"collect_demos": MULTI_THREADS},
        "frameskip": int(config["world_model"]["model"]["frameskip"]),
        "eval_latency": int(config["eval"]["latency_warmup"]) + int(config["eval"]["latency_calls"]),
        "planner_latency": int(planner.get("latency_warmup", 0)) + int(planner.get("latency_calls", 0)),
        "state_ceiling_stages": list(config["state_ceiling"]["stages"]) if RUN_STATE_CEILING else [],
        "views_steps": int(config["views"]["steps"]),
        "probe_steps": int(config["world_model_health"]["probe_steps"]),
        "counterfactual": {
            **{k: int(config["counterfactual"][k]) for k in ("n_starts", "plan_pairs")},
            "env_steps": int(config["counterfactual"]["n_blocks"]) * int(config["world_model"]["model"]["frameskip"]),
            "plan_row": "cem_commit5",
        },
        "latency": {
            # rule latency's counts
            **{k: int(v) for k, v in config["latency"].items()},
            "policies": len(TRAINED_METHODS),
            "planner_steps_per_decision": {
                m: int(EVAL_SETTINGS[m]["planner"]["receding"]) * int(config["world_model"]["model"]["frameskip"])
                for m in PLANNER_METHODS
            },
        },
    }


def video_inputs(wildcards):
    """Data, the first offset's pairs, the world model, the first seed's checkpoint of every
    trained method and the first seed's (or the only) evaluation at the first offset of every
    method: the episodes the rollout videos re-run."""
    offset, seed = EVAL_OFFSETS[0], SEEDS[0]
    inputs = {"h5": paths.DEMOS, "pairs": paths.PAIRS.format(offset=offset),
              "world_model": world_model_path()}
    for m in EVAL_METHODS:
        method = METHODS[m]
        if method.learned:
            files = policy_files(method.stage.name, seed)
            inputs[f"backbone_{m}"], inputs[f"stats_{m}"] = files["backbone"], files["stats"]
        inputs[f"eval_{m}"] = paths.eval_path(m, offset, seed if method.learned else None)
    return inputs


# The labeled-fraction sweep (label_efficiency.smk).
LABEL = config["label_efficiency"]


def label_point_inputs(wildcards):
    """Data, world model, the evaluation pairs and, for LAPA, every seed's pretrained policy."""
    stage = METHODS[wildcards.method].stage
    inputs = {"h5": paths.DEMOS, "latents": paths.LATENTS, "world_model": world_model_path(),
              "pairs": expand(paths.PAIRS, offset=EVAL_OFFSETS)}
    if stage.init_from:
        inputs["init"] = [stage_files(stage.init_from, s)["backbone"] for s in SEEDS]
    return inputs


# gym-pusht's own task (standard.smk).
STANDARD = config["standard"]
STANDARD_METHODS = settings.standard_methods(config)
STANDARD_PATHS = paths.standard_paths(STANDARD["name"])


def standard_inputs(wildcards):
    """Data, latents (the subgoal library), world model and the row's checkpoint of the seed."""
    method = METHODS[wildcards.method]
    return {"h5": paths.DEMOS, "latents": paths.LATENTS, "world_model": world_model_path(),
            **policy_files(method.stage.name, wildcards.seed)}
