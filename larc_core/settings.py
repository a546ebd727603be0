"""What each stage reads from the config: one function per stage, used by both callers.

The contract between the rules and the stages: a Snakemake rule passes
``params: settings=settings.<stage>(config, ...)`` and its script hands ``sm.params.settings``
to :mod:`larc_core.stages`; ``larc <stage>`` hands the same dict computed from its config file.
So the settings a stage reads are exactly its rule's params (editing any of them reruns the
rule, editing anything else does not), and no stage reads the config itself. Defaults live once,
in ``workflow/schemas/config.schema.yaml``: the config reaching these functions has been
validated with its defaults filled in (:func:`larc_core.config.validate_config`, Snakemake's
``validate``), so they index keys instead of guessing defaults.
"""

from __future__ import annotations

from typing import Any

from larc_core.methods import get_method, get_stage
from larc_core.planning import planner_settings


def link_artifacts(config: dict) -> dict[str, Any]:
    """Rule link_artifacts: the published-artifact folder and the model it must match."""
    return {"dir": config["artifacts"].get("dir"), "model": config["world_model"]["model"]}


def import_world_model(config: dict) -> dict[str, Any]:
    """Rule import_world_model: the model settings a LeWM checkpoint is checked against."""
    return {"model": config["world_model"]["model"]}


def collect_demos(config: dict) -> dict[str, Any]:
    """Rule collect_demos: the ``data:`` block (``replay`` only for the noisy-replay
    demonstrator, so editing it leaves other demonstrators' files alone)."""
    data = dict(config["data"])
    if data.get("demonstrator") != "noisy_replay":
        data.pop("replay", None)
    return data


def train_world_model(config: dict) -> dict[str, Any]:
    """Rule train_world_model: model and training settings, seed, device."""
    wm = config["world_model"]
    # cache_batch_size belongs to rule cache_latents: editing it must not retrain the model.
    train = {k: v for k, v in wm["train"].items() if k != "cache_batch_size"}
    return {"model": wm["model"], "train": train, "seed": config["seed"],
            "device": config["device"]}


def cache_latents(config: dict) -> dict[str, Any]:
    """Rule cache_latents: encoding batch size and device."""
    return {"batch_size": config["world_model"]["train"]["cache_batch_size"],
            "world_model": config["world_model"]["model"], "device": config["device"]}


def train_policy(config: dict, stage: str) -> dict[str, Any]:
    """Rule ``train_<stage>``: its backbone block (none for a fine-tuning stage, which keeps its
    initial checkpoint's, or a stage that trains no policy), its objective's block, the
    hindsight goal range and the device."""
    from larc_core.objectives import stage_spec

    st, p = get_stage(stage), config["policy"]
    train = dict(objective_block(config, stage_spec(st).config_class.block))
    # A block may leave the batch size to the shared training block (WM-FT does).
    train.setdefault("batch_size", p["train"]["batch_size"])
    out = {
        "stage": stage,
        "backbone": _block(p, st.backbone_block) if st.backbone_block else {},
        "train": train,
        "goal_offset_min": p["goal_offset_min"],
        "goal_offset_max": p["goal_offset_max"],
        "max_replay_noise": (p["max_replay_noise"] if st.max_replay_noise is None
                             else st.max_replay_noise),
        "world_model": config["world_model"]["model"],
        "device": config["device"],
    }
    if st.init_from:  # the checkpoint it starts from must match its own stage's block
        out["init_backbone"] = _block(p, get_stage(st.init_from).backbone_block)
    return out


def label_point(config: dict, method: str) -> dict[str, Any]:
    """Rule label_point: the row's stage training settings (its labeled fraction replaced per
    point), its evaluation settings on the sweep's first ``n_pairs`` pairs, the seeds."""
    sweep = config["label_efficiency"]
    stage = get_method(method).stage
    return {"train_policy": train_policy(config, stage.name),
            "evaluate": {**evaluate(config, method), "max_pairs": sweep["n_pairs"]},
            "seeds": list(config["seeds"])}


def label_efficiency(config: dict) -> dict[str, Any]:
    """Rule label_efficiency: the rows' labels and networks, which rows are latent-pretrained
    (LAPA: their stage starts from another), and where the claim is read."""
    sweep = config["label_efficiency"]
    rows = [get_method(m) for m in sweep["methods"]]
    return {"labels": {m.key: m.label for m in rows},
            "lapa": [m.key for m in rows if m.stage.init_from],
            "backbones": {m.key: m.backbone for m in rows},
            "claim_fraction": sweep["claim_fraction"],
            "claim_offset": min(config["eval"]["offsets"]), "seed": config["seed"]}


def lam_report(config: dict) -> dict[str, Any]:
    """Rule lam_report: the probe's ridge penalty and the windows measured per split."""
    r = config["lam_report"]
    return {"ridge": r["ridge"], "max_windows": r["max_windows"]}


def objective_block(config: dict, block: tuple[str, ...]) -> dict[str, Any]:
    """The objective block at path ``block`` of the config (e.g. ``("policy", "wm_ft")``)."""
    node = config
    for key in block:
        node = node[key]
    return node


def _block(policy: dict, name: str | None) -> dict[str, Any]:
    """A backbone block of ``policy:`` (empty when left out: the dataclass defaults)."""
    return dict(policy.get(name) or {}) if name else {}


def backbone_block(stage: str) -> str:
    """The ``policy:`` block holding a stage's backbone settings (its own, or the block of the
    stage it fine-tunes, whose checkpoint it inherits)."""
    st = get_stage(stage)
    while st.backbone_block is None:
        st = get_stage(st.init_from)
    return st.backbone_block


def eval_pairs(config: dict, seed: int | None = None) -> dict[str, Any]:
    """Rules eval_pairs and draw_pairs: how many pairs per offset, drawn with which seed
    (``eval.seed``, or another seed for the pair-draw check)."""
    return {"n_episodes": config["eval"]["n_episodes"],
            "seed": config["eval"]["seed"] if seed is None else seed}


def evaluate(config: dict, method: str) -> dict[str, Any]:
    """Rules eval, eval_planner and eval_reference: one method's evaluation settings.

    ``seed`` seeds the episodes of untrained rows (trained ones use their training seed): the
    CEM rows draw their candidates from ``eval.seed``, the sanity rows use the global seed."""
    m, e = get_method(method), config["eval"]
    out: dict[str, Any] = {
        "method": method,
        "execute_chunk_size": e["execute_chunk_size"],
        "latency_warmup": e["latency_warmup"],
        "latency_calls": e["latency_calls"],
        "planner": None,
        "max_pairs": None,
        "seed": config["seed"],
        "device": config["device"],
    }
    if m.learned or m.planned:
        out["world_model"] = config["world_model"]["model"]
    if m.learned:
        out["backbone"] = _block(config["policy"], backbone_block(m.stage.name))
    if m.planned:
        p = config["planner"]
        out.update(planner=planner_settings(p, method), latency_warmup=p["latency_warmup"],
                   latency_calls=p["latency_calls"], max_pairs=p["n_pairs"], seed=e["seed"])
    return out


def controllers(config: dict) -> dict[str, Any]:
    """How every evaluated method decides (rules latency and rollout_videos): the methods, each
    planner row's settings, the chunk execution, the seed of the CEM draws, the device, and the
    default checkpoint seed and pairs offset of a run by hand."""
    e = config["eval"]
    methods = list(e["methods"])
    return {
        "methods": methods,
        "planners": {m: planner_settings(config.get("planner"), m)
                     for m in methods if get_method(m).planned},
        "execute_chunk_size": e["execute_chunk_size"],
        "seed": e["seed"],
        "device": config["device"],
        "first_seed": config["seeds"][0],
        "first_offset": e["offsets"][0],
    }


def eval_standard(config: dict, method: str) -> dict[str, Any]:
    """Rule eval_standard: gym-pusht's task settings (``standard:``), the videos, the device."""
    m = get_method(method)
    # The run's name only places its outputs: renaming it must not rerun an evaluation.
    task = {k: v for k, v in config["standard"].items() if k != "name"}
    return {"method": method, "standard": task,
            "video": dict(config["videos"]), "device": config["device"],
            "world_model": config["world_model"]["model"],
            "backbone": _block(config["policy"], backbone_block(m.stage.name))}


def standard_report(config: dict) -> dict[str, Any]:
    """Rule standard_report: the rows' labels, the task settings, the published references."""
    s = config["standard"]
    return {"labels": {m: get_method(m).label for m in standard_methods(config)},
            "n_episodes": s["n_episodes"], "start_seed": s["start_seed"],
            "subgoal": s["subgoal"], "subgoal_offset": s["subgoal_offset"],
            "references": list(s["references"])}


def standard_methods(config: dict) -> list[str]:
    """The rows run on gym-pusht's own task: ``standard.methods``, or every trained row of
    ``eval.methods`` when it is null."""
    listed = config["standard"].get("methods")
    if listed is None:
        return [m for m in config["eval"]["methods"] if get_method(m).learned]
    return list(listed)


def rollout_videos(config: dict) -> dict[str, Any]:
    """Rule rollout_videos: the controllers and the ``videos:`` size and frame rate."""
    return {**controllers(config), "video": dict(config["videos"])}


def latency(config: dict) -> dict[str, Any]:
    """Rule latency: the controllers and the ``latency:`` timing counts."""
    return {**controllers(config), "counts": dict(config["latency"])}


def world_model_health(config: dict) -> dict[str, Any]:
    """Rule world_model_health: the MLP probe's steps, probe seed and device."""
    return {"probe_steps": int(config["world_model_health"]["probe_steps"]),
            "seed": config["seed"], "device": config["device"]}


def counterfactual(config: dict) -> dict[str, Any]:
    """Rule counterfactual: the ``counterfactual:`` block, the planner of the diagnosis (the
    ``cem_commit5`` row's settings, LeWM's when the config has none), seed and device."""
    planner = config.get("planner") or {}
    if "cem_commit5" in (planner.get("receding") or {}):
        plan = planner_settings(planner, "cem_commit5")
    else:
        from larc_core.planning import CEMConfig

        plan = CEMConfig().to_dict()
    return {"counterfactual": dict(config["counterfactual"]), "planner": plan,
            "seed": config["seed"], "device": config["device"]}


def tuning_pairs(config: dict) -> dict[str, Any]:
    """Rule tuning_pairs: how many pairs per offset, drawn from training episodes with the
    tuning seed."""
    t = config["tuning"]
    return {"n_episodes": t["n_pairs"], "seed": t["pair_seed"], "split": "train"}


def wm_ft_point(config: dict, point: str) -> dict[str, Any]:
    """Rule wm_ft_point: the sweep's base block and this point's overrides, the WM-FT training
    and evaluation settings they replace the block of, and the sweep seeds."""
    sweep = config["wm_ft_sweep"]
    points = {p["name"]: p.get("overrides") or {} for p in sweep["grid"]}
    if point not in points:
        raise KeyError(f"wm_ft_sweep.grid has no point {point!r}; it has {list(points)}")
    return {"overrides": dict(points[point]), "base": dict(sweep["base"]),
            "seeds": list(sweep["seeds"]), "train_policy": train_policy(config, "wm_ft"),
            "evaluate": evaluate(config, "larc_chunk_wm_ft")}


def wm_ft_sweep(config: dict) -> dict[str, Any]:
    """Rule wm_ft_sweep: the config's WM-FT block (is it the selected setting?) and the point
    holding it, which stays selected unless another point beats it."""
    return {"current": train_policy(config, "wm_ft")["train"],
            "incumbent": config["wm_ft_sweep"]["incumbent"]}


def claims(config: dict) -> dict[str, Any]:
    """Rule claims: the claims whose two rows this run evaluates (``eval.methods``), the names
    of the others (``skipped``: listed in claims.md, not tested), the training seeds and
    offsets whose files they pair, and the seed of the bootstrap draws."""
    methods = set(config["eval"]["methods"])
    tested = [c for c in config["claims"] if {c["a"], c["b"]} <= methods]
    skipped = [{"name": c["name"], "missing": sorted({c["a"], c["b"]} - methods)}
               for c in config["claims"] if c not in tested]
    return {"claims": tested, "skipped": skipped, "seeds": list(config["seeds"]),
            "offsets": list(config["eval"]["offsets"]), "seed": config["seed"]}


def state_ceiling(config: dict) -> dict[str, Any]:
    """Rule state_ceiling: the policy settings, the stages trained on the true state, the seed."""
    sc, p = config["state_ceiling"], config["policy"]
    # Only the blocks it reads: a stage added to the registry does not rerun it.
    policy = {k: p[k] for k in ("goal_offset_min", "goal_offset_max", *sc["stages"], "train")
              if k in p}
    return {"policy": policy, "stages": list(sc["stages"]), "seed": sc["seed"]}


def world_model_views(config: dict) -> dict[str, Any]:
    """Rule world_model_views: the ``views:`` block and the seed."""
    return {"views": config["views"], "seed": config["seed"]}
