# Shared helpers: config validation, which artifacts are linked, and path functions.
from snakemake.utils import validate

from larc_core import paths
from larc_core.artifacts import ARTIFACTS, find_artifacts
from larc_core.config import check_config
from larc_core.methods import METHODS


validate(config, "../schemas/config.schema.yaml")
check_config(config, source="workflow config")

# Published artifacts found in artifacts.dir (checked at parse time, before any job runs);
# each one replaces the rule that would build it.
LINKED = find_artifacts(config["artifacts"].get("dir"))
EVAL_METHODS = config["eval"]["methods"]
EVAL_OFFSETS = [int(o) for o in config["eval"]["offsets"]]
GPU = 0 if config["device"] == "cpu" else 1


wildcard_constraints:
    method="|".join(METHODS),
    offset=r"\d+",


def world_model_path():
    """The linked published checkpoint if one was given, else the one this workflow trains."""
    return ARTIFACTS["world_model"].target if "world_model" in LINKED else paths.WORLD_MODEL


def linked_targets():
    return [ARTIFACTS[k].target for k in LINKED]


def eval_inputs(wildcards):
    """Data and pairs for every method; world model and checkpoint for the LARC policies
    (the No-op and Replay sanity rows need neither)."""
    inputs = {"h5": paths.DEMOS, "pairs": paths.PAIRS.format(offset=wildcards.offset)}
    method = METHODS[wildcards.method]
    if method.learned:
        inputs["world_model"] = world_model_path()
        inputs["backbone"] = f"{method.checkpoint_dir}/shared_policy_backbone.pt"
        inputs["stats"] = f"{method.checkpoint_dir}/action_stats.pt"
    return inputs


def eval_files():
    return expand(paths.EVAL, method=EVAL_METHODS, offset=EVAL_OFFSETS)


def policy_params(stage):
    """The policy settings one training stage depends on (so editing one stage's settings
    reruns that stage and its downstream only). WM-FT also depends on the Chunk settings."""
    p = config["policy"]
    out = {k: p[k] for k in ("goal_offset_min", "goal_offset_max", "train")}
    if stage == "wm_ft":
        out.update(chunk=p["chunk"], wm_ft=p["wm_ft"])
    else:
        out[stage] = p[stage]
    return out


# Training logs that get a curves figure: the world model (when this workflow trains it) and
# every policy stage it trains.
TRAIN_LOGS = {
    name: log
    for name, log, linked_key in (
        ("world_model", "checkpoints/world_model/train_log.jsonl", "world_model"),
        ("idm", f"{paths.POLICY_DIRS['idm']}/train_log.jsonl", None),
        ("chunk", f"{paths.POLICY_DIRS['chunk']}/train_log.jsonl", "chunk_backbone"),
        ("wm_ft", f"{paths.POLICY_DIRS['wm_ft']}/train_log.jsonl", None),
    )
    if linked_key not in LINKED
}


wildcard_constraints:
    name="|".join(TRAIN_LOGS) or "none",


def training_curve_files():
    return expand(paths.TRAIN_CURVES, name=list(TRAIN_LOGS))


def benchmark_files():
    """Benchmark files of the heavy jobs this workflow runs (linked artifacts run nothing)."""
    files = [f"results/benchmarks/{rule}.tsv" for rule in ("collect_demos",) if "data" not in LINKED]
    if "world_model" not in LINKED:
        files.append("results/benchmarks/train_world_model.tsv")
    if "latents" not in LINKED:
        files.append("results/benchmarks/cache_latents.tsv")
    files += ["results/benchmarks/train_idm.tsv", "results/benchmarks/train_wm_ft.tsv"]
    if "chunk_backbone" not in LINKED:
        files.append("results/benchmarks/train_chunk.tsv")
    files.append("results/benchmarks/world_model_health.tsv")
    files += expand(
        "results/benchmarks/eval_{method}_h{offset}.tsv", method=EVAL_METHODS, offset=EVAL_OFFSETS
    )
    return files
