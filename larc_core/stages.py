"""One function per workflow stage, called by the Snakemake scripts and by the ``larc`` CLI.

Each takes the settings it reads (:mod:`larc_core.settings`: a rule's ``params.settings``, or
the same dict computed by the CLI from its config file) plus explicit input/output paths, so a
rule and a manual ``larc <stage>`` run do exactly the same work.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from larc_core import paths
from larc_core.io import ArtifactError
from larc_core.logs import get_logger

log = get_logger("stage")


def _threads(threads: int | None) -> None:
    """Torch intra-op threads for a job: its ``threads``, never more than the machine's cores
    (oversubscribed torch threads busy-wait on each other)."""
    if threads:
        import torch

        torch.set_num_threads(max(1, min(int(threads), os.cpu_count() or 1)))


def link_artifacts(settings: dict, manifest: str = paths.MANIFEST, root: str = ".") -> dict:
    """Check and link the published artifacts of ``settings["dir"]`` (``settings.link_artifacts``)."""
    from larc_core.artifacts import link_artifacts as link

    return link(settings["dir"], root, manifest, settings["model"])


def import_world_model(settings: dict, source: str, demos: str = paths.DEMOS,
                       out: str | None = None) -> dict:
    """Convert a linked LeWM checkpoint into the LARC world-model format (weights checked
    against ``settings["model"]``, action statistics fitted on ``demos``)."""
    from larc_core.artifacts import IMPORTED_WORLD_MODEL
    from larc_core.world_model import import_lewm_checkpoint

    meta = import_lewm_checkpoint(source, demos, out or IMPORTED_WORLD_MODEL, settings["model"])
    log.info("imported world model %s -> %s (action mean %s, std %s)", source,
             out or IMPORTED_WORLD_MODEL, meta.get("action_mean"), meta.get("action_std"))
    return meta


def collect_demos(settings: dict, out: str = paths.DEMOS, threads: int = 1) -> dict:
    """Record the demonstrations of ``settings`` (the ``data:`` block) to ``out``."""
    from larc_core.data import collect_demos as collect

    d = settings
    summary = collect(
        out, n_episodes=d["n_episodes"], min_len=d["min_len"], max_len=d["max_len"],
        resolution=d["resolution"], seed=d["seed"], workers=max(1, int(threads)),
        val_fraction=d["val_fraction"], demonstrator=d["demonstrator"],
        **({"replay_source": d["replay"]["source"], "replay_noise": list(d["replay"]["noise"])}
           if "replay" in d else {}),
    )
    log.info("collected demonstrations: %s", summary)
    return summary


def data_report(demos: str = paths.DEMOS, out_md: str = paths.DATA_MD,
                out_json: str = paths.DATA_JSON, out_png: str = paths.DATA_FIG) -> dict:
    from larc_core.reporting.data import write_data_report

    stats = write_data_report(demos, out_md, out_json, out_png)
    log.info("wrote %s, %s and %s: %d episodes, %.1f%% solved, contact %.1f%%", out_md,
             out_json, out_png, stats["episodes"], 100 * stats["solved_fraction"],
             100 * stats["contact_fraction"])
    return stats


def state_dir_beside(out: str | Path) -> Path:
    """Resume state of an output the CLI was asked to write outside the workflow's layout:
    ``<out>.larc_state/`` beside it (never inside it: a rule's outputs are deleted on rerun)."""
    out = Path(out)
    return out.with_name(out.name + ".larc_state")


def train_world_model(
    settings: dict, demos: str = paths.DEMOS, out: str = paths.WORLD_MODEL, threads: int = 1,
    state_dir: str | Path | None = None,
) -> dict:
    """Train the world model of ``settings`` (``settings.train_world_model``) on ``demos``,
    holding the lock of its resume state (``state_dir``, default
    ``.larc_state/train_world_model``) so no second process trains it at the same time."""
    from larc_core.locking import exclusive
    from larc_core.world_model import (
        WorldModelConfig,
        WorldModelTrainConfig,
    )
    from larc_core.world_model import (
        train_world_model as train,
    )

    _threads(threads)
    state_dir = Path(state_dir or Path(paths.STATE_ROOT) / "train_world_model")
    with exclusive(state_dir, f"world model {out}"):
        return train(
            WorldModelConfig.from_dict(settings["model"]),
            WorldModelTrainConfig(**settings["train"]),
            demos, out, state_dir, settings["device"], settings["seed"],
        )


def cache_latents(
    settings: dict, demos: str = paths.DEMOS, world_model: str = paths.WORLD_MODEL,
    out: str = paths.LATENTS, threads: int = 1, accept_checkpoint_config: bool = False,
) -> None:
    """Encode every frame of ``demos`` once with the frozen world model (which must match
    ``world_model.model``)."""
    from larc_core.agreement import check_world_model
    from larc_core.world_model import build_latent_cache

    check_world_model(settings["world_model"], world_model, accept_checkpoint_config)
    _threads(threads)
    build_latent_cache(demos, world_model, out, batch_size=settings["batch_size"],
                       device=settings["device"])


def train_policy(
    settings: dict, seed: int, demos: str = paths.DEMOS, latents: str = paths.LATENTS,
    world_model: str = paths.WORLD_MODEL, out_dir: str | None = None,
    init_dir: str | None = None, threads: int = 1, state_dir: str | Path | None = None,
    accept_checkpoint_config: bool = False, uses: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Train the stage of ``settings`` (``settings.train_policy``: a policy or any other
    registered stage) with one seed; a stage with ``init_from`` starts from ``init_dir``
    (default: the same seed's checkpoint of that stage), one with ``uses`` reads the products in
    ``uses`` (stage name -> folder; default: the same seed's folders of those stages).

    Checkpoints go to ``out_dir`` (default ``paths.policy_dir(stage, seed)``); the resumable
    state to ``state_dir`` (default ``.larc_state/train_<stage>/seed<s>``), whose lock it holds
    while it trains and writes.
    """
    from larc_core.agreement import check_policy, check_world_model
    from larc_core.locking import exclusive
    from larc_core.methods import get_stage
    from larc_core.settings import backbone_block
    from larc_core.training.train_stage import train_stage

    _threads(threads)
    stage = get_stage(settings["stage"])
    accept = accept_checkpoint_config
    check_world_model(settings["world_model"], world_model, accept)
    if stage.init_from:
        init = get_stage(stage.init_from)
        init_dir = init_dir or paths.policy_dir(stage.init_from, seed)
        if init.backbone:
            check_policy(init.backbone, settings["init_backbone"], backbone_block(init.name),
                         Path(init_dir) / "shared_policy_backbone.pt", init.rule, accept)
        _check_product(init.name, init_dir, seed, stage.name)
    uses = {name: (uses or {}).get(name) or paths.policy_dir(name, seed) for name in stage.uses}
    for name, folder in uses.items():
        _check_product(name, folder, seed, stage.name)
    out_dir = out_dir or paths.policy_dir(stage.name, seed)
    state_dir = Path(state_dir or Path(paths.STATE_ROOT) / stage.rule / f"seed{seed}")
    with exclusive(state_dir, f"{stage.name} {out_dir}"):
        return train_stage(
            stage.name, demo_path=demos, latents_path=latents, world_model_path=world_model,
            out_dir=out_dir, state_dir=state_dir,
            policy_cfg=settings["backbone"], train_cfg=settings["train"],
            goal_offset_min=settings["goal_offset_min"],
            goal_offset_max=settings["goal_offset_max"], seed=int(seed),
            device=settings["device"], init_dir=init_dir if stage.init_from else None,
            uses=uses, max_replay_noise=settings.get("max_replay_noise"),
        )


def _check_product(stage: str, folder: str | Path, seed: int, consumer: str) -> None:
    """A folder another stage starts from or reads must hold ``stage``'s product of the same
    seed (its first checkpoint file's recorded stage and seed)."""
    from larc_core.agreement import check_identity
    from larc_core.objectives import stage_spec

    files = [f for k, f in stage_spec(stage).output_files.items()
             if k != "train_log" and f.endswith(".pt")]
    if files:
        check_identity(Path(folder) / files[0], stage, seed,
                       f"stage {consumer} trained with seed {seed}", f"{stage} checkpoint")


def label_point(settings: dict, method: str, fraction: float, init_dirs: dict[int, str],
                pairs: dict[int, str], out: str, demos: str = paths.DEMOS,
                latents: str = paths.LATENTS, world_model: str = paths.WORLD_MODEL,
                threads: int = 1) -> dict:
    """One row of the labeled-fraction sweep at one fraction (``settings.label_point``)."""
    from larc_core.evaluation.label_sweep import label_point as run_point

    return run_point(method, fraction, settings["train_policy"], settings["evaluate"],
                     settings["seeds"], demos, latents, world_model, init_dirs, pairs, out,
                     train_policy, evaluate, threads)


def eval_standard(settings: dict, seed: int, demos: str = paths.DEMOS,
                  latents: str = paths.LATENTS, world_model: str = paths.WORLD_MODEL,
                  checkpoint_dir: str | None = None, out: str | None = None,
                  videos: list[str] | None = None, threads: int = 1,
                  accept_checkpoint_config: bool = False) -> dict:
    """gym-pusht's own task with one trained row and seed (``settings.eval_standard``): LeRobot's
    ``eval_info.json`` at ``out`` and the first episodes as MP4 at ``videos``. A
    ``checkpoint_dir`` is checked as :func:`evaluate` checks it (``seed`` None: its own)."""
    from larc_core.data import DemoFile
    from larc_core.evaluation.build import ControllerSpec
    from larc_core.evaluation.standard import evaluate_standard
    from larc_core.methods import get_method

    _threads(threads)
    method, task, video = settings["method"], settings["standard"], settings["video"]
    m = get_method(method)
    seed, checkpoint_dir = _policy_checkpoint(m, seed, checkpoint_dir)
    _check_evaluated(settings, m, world_model, checkpoint_dir, accept_checkpoint_config)
    out = out or paths.STANDARD_INFO.format(method=method, seed=seed)
    if videos is None:  # beside the record, as the workflow lays them out
        videos = [str(Path(out).parent / paths.STANDARD_VIDEO_NAME.format(episode=i))
                  for i in range(task["videos"])]
    with DemoFile(demos) as demo:
        resolution = demo.resolution
    spec = ControllerSpec(method=method, offset=task["subgoal_offset"], resolution=resolution,
                          demo_path=demos, world_model_path=world_model,
                          checkpoint_dir=checkpoint_dir, seed=seed, device=settings["device"])
    return evaluate_standard(spec, latents_path=latents, out_path=out, video_paths=videos,
                             start_seed=task["start_seed"], n_episodes=task["n_episodes"],
                             max_steps=task["max_steps"], subgoal=task["subgoal"],
                             subgoal_offset=task["subgoal_offset"], video_size=video["size"],
                             fps=video["fps"], policy_seed=seed)


def standard_report(settings: dict, info_files: list[str], out_md: str = paths.STANDARD_MD,
                    out_json: str = paths.STANDARD_JSON) -> dict:
    """``results/standard.md`` from the rows' ``eval_info.json`` (``settings.standard_report``)."""
    from larc_core.reporting.standard import write_standard_report

    res = write_standard_report(info_files, settings, out_md, out_json)
    log.info("wrote %s (%d rows)", out_md, len(res["rows"]))
    return res


def label_efficiency(settings: dict, point_files: list[str], out_md: str = paths.LABEL_MD,
                     out_json: str = paths.LABEL_JSON, out_png: str = paths.LABEL_FIG,
                     lam_json: str | None = paths.LAM_JSON) -> dict:
    """``results/label_efficiency.md`` from the sweep's points (``settings.label_efficiency``)
    and the latent action model's probe (``lam_json``; None leaves that line out)."""
    from larc_core.reporting.label_efficiency import write_label_report

    res = write_label_report(point_files, settings["labels"], settings["lapa"],
                             settings["backbones"], out_md, out_json, out_png,
                             settings["claim_fraction"], settings["claim_offset"], lam_json,
                             settings["seed"])
    log.info("wrote %s: the claim %s", out_md, "holds" if res["claim"]["holds"] else
             "does not hold")
    return res


def lam_report(settings: dict, models: dict[int, str], demos: str = paths.DEMOS,
               latents: str = paths.LATENTS, world_model: str = paths.WORLD_MODEL,
               out_md: str = paths.LAM_MD, out_json: str = paths.LAM_JSON) -> dict:
    """``results/lam.md``: codebook usage, forward error and action probe of the latent action
    model of every seed in ``models`` (seed -> model file; ``settings.lam_report``)."""
    from larc_core.agreement import check_identity
    from larc_core.reporting.lam import write_lam_report

    for seed, model in models.items():
        check_identity(model, "lam", int(seed), f"the report's seed {seed}",
                       "latent action model")
    res = write_lam_report(models, demos, latents, world_model, out_md, out_json,
                           settings["ridge"], settings["max_windows"])
    log.info("wrote %s: smallest slot perplexity %.1f, largest forward error %.3f x copy",
             out_md, res["summary"]["min_perplexity"], res["summary"]["max_forward_ratio"])
    return res


def eval_pairs(settings: dict, offset: int, demos: str = paths.DEMOS,
               out: str | None = None) -> dict:
    """Draw ``settings["n_episodes"]`` start/goal pairs ``offset`` steps apart (from the
    validation episodes, or the training episodes for tuning pairs: ``settings["split"]``)."""
    from larc_core.evaluation.pairs import write_pairs

    return write_pairs(demos, int(offset), settings["n_episodes"], settings["seed"],
                       out or paths.PAIRS.format(offset=offset),
                       split=settings.get("split", "validation"))


def wm_ft_point(settings: dict, point: str, chunk_dirs: dict[int, str],
                pairs: dict[int, str], out: str, demos: str = paths.DEMOS,
                latents: str = paths.LATENTS, world_model: str = paths.WORLD_MODEL,
                threads: int = 1) -> dict:
    """One point of the WM-FT sweep (``settings.wm_ft_point``) on the tuning pairs."""
    from larc_core.evaluation.tuning import wm_ft_point as run_point

    return run_point(point, settings["overrides"], settings["base"], settings["train_policy"],
                     settings["evaluate"], settings["seeds"], demos, latents, world_model,
                     chunk_dirs, pairs, out, train_policy, evaluate, threads)


def wm_ft_sweep(settings: dict, point_files: list[str], out_md: str = paths.WM_FT_MD,
                out_json: str = paths.WM_FT_JSON) -> dict:
    """The WM-FT sweep's report (``results/wm_ft.md``) from its points' JSONs."""
    from larc_core.evaluation.tuning import wm_ft_report

    res = wm_ft_report(point_files, out_md, out_json, settings["current"],
                       settings["incumbent"])
    log.info("WM-FT sweep: selected %s (%s); the config %s it", res["selected"],
             res["selected_train"], "holds" if res["default_is_selected"] else "does NOT hold")
    return res


def evaluate(
    settings: dict, offset: int, demos: str = paths.DEMOS,
    world_model: str | None = paths.WORLD_MODEL, checkpoint_dir: str | None = None,
    pairs: str | None = None, out: str | None = None, seed: int | None = None,
    threads: int = 1, accept_checkpoint_config: bool = False, n_episodes: int | None = None,
) -> dict:
    """Evaluate the method of ``settings`` (``settings.evaluate``) at one offset; a trained
    method uses the checkpoint of training seed ``seed`` (its row's folder), or the one in
    ``checkpoint_dir`` (its recorded stage must be the row's, its recorded seed ``seed`` when
    given, else the record takes it). Planner rows (CEM) use the world model and
    ``settings["planner"]``. The pairs file must hold pairs of ``offset``; ``n_episodes`` runs
    only its first pairs (recorded beside the file's count; more than it holds is refused).

    ``threads`` is the number of worker processes the episodes are spread over; every process
    runs torch with one thread (the records do not depend on ``threads``)."""
    from larc_core.evaluation.pairs import load_pairs
    from larc_core.evaluation.run import evaluate as run_eval
    from larc_core.methods import get_method

    method = settings["method"]
    m = get_method(method)
    if m.learned:
        seed, checkpoint_dir = _policy_checkpoint(m, seed, checkpoint_dir)
    else:
        seed = None
    _check_evaluated(settings, m, world_model, checkpoint_dir, accept_checkpoint_config)
    pairs = pairs or paths.PAIRS.format(offset=offset)
    doc = load_pairs(pairs, demos)
    if int(doc["offset"]) != int(offset):
        raise ArtifactError(
            f"pairs file {pairs} holds pairs of offset {doc['offset']} (budget {doc['budget']}), "
            f"not of the asked offset {offset}: give the offset-{offset} pairs file "
            f"({paths.PAIRS.format(offset=offset)}) or offset {doc['offset']}")
    max_pairs = settings["max_pairs"]
    if n_episodes is not None:
        if int(n_episodes) > len(doc["pairs"]):
            raise ArtifactError(
                f"pairs file {pairs} holds {len(doc['pairs'])} pairs, but eval.n_episodes asks "
                f"for {n_episodes}: draw that many with eval-pairs, or ask for at most "
                f"{len(doc['pairs'])}")
        max_pairs = int(n_episodes) if max_pairs is None else min(int(max_pairs),
                                                                  int(n_episodes))
    return run_eval(
        method, demo_path=demos,
        world_model_path=world_model if (m.learned or m.planned) else None,
        checkpoint_dir=checkpoint_dir, pairs_path=pairs,
        out_path=out or paths.eval_path(method, offset, seed),
        execute_chunk_size=settings["execute_chunk_size"], planner=settings["planner"],
        latency_warmup=settings["latency_warmup"], latency_calls=settings["latency_calls"],
        device=settings["device"], seed=settings["seed"] if seed is None else seed,
        policy_seed=seed, workers=max(1, int(threads or 1)), max_pairs=max_pairs,
    )


def _policy_checkpoint(method: Any, seed: int | None,
                       checkpoint_dir: str | None) -> tuple[int, str]:
    """(training seed, checkpoint folder) of a trained row: the row's folder of ``seed``, or
    ``checkpoint_dir`` checked to be the row's stage (and ``seed``'s, when given; else its
    recorded seed is the one the result records)."""
    from larc_core.agreement import check_identity

    if checkpoint_dir is None:
        if seed is None:
            raise ValueError(f"method {method.key!r} is trained per seed: give the training "
                             f"seed")
        return int(seed), method.checkpoint_dir(int(seed))
    asked = f"row {method.key}" + ("" if seed is None else f" with seed {seed}")
    own = check_identity(Path(checkpoint_dir) / "shared_policy_backbone.pt", method.stage.name,
                         seed, asked, "policy checkpoint")
    if seed is None:
        if "seed" not in own:
            raise ArtifactError(f"{checkpoint_dir}: its checkpoint records no training seed; "
                                f"give --seed")
        seed = int(own["seed"])
    return int(seed), checkpoint_dir


def _check_evaluated(settings: dict, method: Any, world_model: str | None,
                     checkpoint_dir: str | None, accept: bool) -> None:
    """The world model and the policy checkpoint an evaluation uses must match the config."""
    from larc_core.agreement import check_policy, check_world_model
    from larc_core.settings import backbone_block

    if method.learned or method.planned:
        check_world_model(settings["world_model"], world_model, accept)
    if method.learned:
        check_policy(method.backbone, settings["backbone"], backbone_block(method.stage.name),
                     Path(checkpoint_dir) / "shared_policy_backbone.pt", method.stage.rule, accept)


def default_eval_files(config: dict) -> list[str]:
    """Every result file the table reads: trained methods once per seed, the others once."""
    from larc_core.methods import get_method

    e = config["eval"]
    return [
        paths.eval_path(m, o, s)
        for m in e["methods"]
        for s in (config["seeds"] if get_method(m).learned else [None])
        for o in e["offsets"]
    ]


def table(eval_files: list[str], out_md: str = paths.TABLE, out_csv: str = paths.TABLE_CSV,
          figure: str | None = paths.FIGURE, latency_json: str | None = None,
          out_summary_csv: str | None = paths.TABLE_SUMMARY_CSV,
          out_metrics: str | None = paths.METRICS) -> None:
    """The results table, its tidy CSV, the per-cell summary CSV and DVC's metrics file; its
    latency column from ``latency_json`` (rule latency) if given."""
    from larc_core.reporting.table import write_table

    df = write_table(eval_files, out_md, out_csv, figure, latency_json, out_summary_csv,
                     out_metrics)
    log.info("wrote %s and %s from %d eval files (%d rows)", out_md, out_csv, len(eval_files),
             len(df))


def figures(eval_files: list[str], out: str = paths.FIGURE,
            out_csv: str | None = paths.SUCCESS_PLOT_CSV) -> None:
    """Success against goal offset, from the evaluation files (and its data for DVC plots)."""
    from larc_core.reporting.figures import success_vs_offset

    success_vs_offset(eval_files, out, out_csv)
    log.info("wrote %s from %d eval files", out, len(eval_files))


def world_model_health(
    settings: dict, demos: str = paths.DEMOS, world_model: str = paths.WORLD_MODEL,
    latents: str = paths.LATENTS, out_md: str = paths.WM_HEALTH_MD,
    out_json: str = paths.WM_HEALTH_JSON, out_png: str = paths.WM_HEALTH_FIG, *,
    gap_evals: list[str] | None = None, state_ceiling: str | None = None,
    views: dict[str, str] | None = None, probe_log: str | None = None,
    counterfactual: str | None = None,
) -> dict:
    """Health metrics and probes of the world model in ``out_md``; with ``counterfactual`` the
    counterfactual prediction and planning diagnosis (rule ``counterfactual``), with
    ``state_ceiling`` (and the LARC evaluations ``gap_evals``) the latent-policy gap, with
    ``probe_log`` the settings tried, with ``views`` the pictures of rule
    ``world_model_views``."""
    from larc_core.reporting.world_model import (
        counterfactual_section,
        gap_section,
        settings_section,
        views_section,
    )
    from larc_core.reporting.world_model import world_model_health as health

    sections = []
    if counterfactual:
        sections.append(counterfactual_section(counterfactual, world_model))
    if state_ceiling:
        sections.append(gap_section(gap_evals or [], state_ceiling))
    if views:
        sections.append(views_section(views, out_md))
    if probe_log and Path(probe_log).exists():
        sections.append(settings_section(probe_log))
    report = health(demos, world_model, latents, out_md, out_json, out_png, seed=settings["seed"],
                    device=settings["device"], extra_sections=sections,
                    probe_steps=settings["probe_steps"])
    log.info("wrote %s, %s and %s", out_md, out_json, out_png)
    return report


def counterfactual(settings: dict, demos: str = paths.DEMOS,
                   world_model: str = paths.WORLD_MODEL, pairs: str | None = None,
                   out: str = paths.COUNTERFACTUAL) -> dict:
    """Counterfactual prediction of the frozen world model and the planning diagnosis on the
    first ``plan_pairs`` pairs of ``pairs`` (none without a pairs file), written to ``out``."""
    from larc_core.data import DemoFile
    from larc_core.evaluation.counterfactual import counterfactual_prediction, planning_diagnosis
    from larc_core.evaluation.pairs import load_pairs
    from larc_core.io import atomic_write_json, sha256_file
    from larc_core.planning import CEMConfig
    from larc_core.seeding import resolve_device
    from larc_core.world_model import load_world_model

    c = settings["counterfactual"]
    _threads(1)
    wm = load_world_model(world_model, device=resolve_device(settings["device"])).freeze()
    with DemoFile(demos) as demo:
        res: dict = {"world_model": world_model, "world_model_sha256": sha256_file(world_model),
                     "demo_fingerprint": demo.fingerprint, "seed": settings["seed"]}
        res["counterfactual"] = counterfactual_prediction(
            wm, demo, n_starts=c["n_starts"], n_blocks=c["n_blocks"], noise_std=c["noise_std"],
            seed=settings["seed"])
        if pairs and c["plan_pairs"] > 0:
            doc = load_pairs(pairs, demos)
            res["diagnosis"] = planning_diagnosis(
                wm, demo, doc["pairs"][:c["plan_pairs"]], CEMConfig.from_dict(settings["planner"]),
                seed=settings["seed"])
            res["diagnosis"].update(pairs_file=str(pairs), offset=int(doc["offset"]))
            d = res["diagnosis"]
            log.info("planning diagnosis on %d pairs of %s: plan cost below the recorded "
                     "actions' in %d, open-loop plan reaches the goal in %d (recorded: %d)",
                     d["n_pairs"], pairs, d["plan_below_recorded"], d["open_loop_successes"],
                     d["recorded_open_loop_successes"])
    atomic_write_json(out, res)
    log.info("wrote %s", out)
    return res


def claims(settings: dict, eval_dir: str = "results/eval", latency: str = paths.LATENCY_JSON,
           out_md: str = paths.CLAIMS_MD, out_json: str = paths.CLAIMS_JSON) -> dict:
    """Each claim of ``settings`` (``settings.claims``) as a paired comparison of the
    evaluation files under ``eval_dir``; ``latency`` for the claims that compare time."""
    from larc_core.reporting.claims import write_claims

    res = write_claims(out_md, out_json, claims=settings["claims"],
                       skipped=settings.get("skipped", []), eval_dir=eval_dir,
                       seeds=settings["seeds"], offsets=settings["offsets"],
                       latency_json=latency, seed=int(settings["seed"]))
    for c in res["claims"]:
        log.info("%s: %s", c["name"], ", ".join(
            f"h{r['offset']} {r['difference']:+.1f} [{r['ci'][0]:+.1f}, {r['ci'][1]:+.1f}] "
            f"{r['verdict']}" for r in c["offsets"]))
    log.info("wrote %s and %s", out_md, out_json)
    return res


def state_ceiling(settings: dict, demos: str, pairs: list[str], out: str,
                  threads: int = 1) -> dict:
    """LARC policies trained on the true state (``settings.state_ceiling``), run on the
    evaluation pairs -> ``out`` (JSON)."""
    from larc_core.evaluation.state_ceiling import state_ceiling as ceiling
    from larc_core.io import atomic_write_json
    from larc_core.locking import exclusive

    _threads(threads)
    state_dir = Path(paths.STATE_ROOT) / "state_ceiling"
    with exclusive(state_dir, f"the true-state ceiling {out}"):
        res = ceiling(demos, pairs, settings["stages"], settings["policy"], settings["seed"],
                      state_dir)
    atomic_write_json(out, res)
    log.info("wrote %s: %s", out, ", ".join(
        f"{r['stage']} h{r['offset']} {r['successes']}/{r['n_episodes']}" for r in res["rows"]))
    return res


def world_model_views(settings: dict, demos: str, world_model: str, latents: str,
                      chunk_backbone: str, chunk_stats: str, pairs: str, out: dict[str, str],
                      threads: int = 1) -> dict:
    """Pictures of what the world model sees (see :mod:`larc_core.reporting.imagination`)."""
    from larc_core.reporting.imagination import world_model_views as draw

    _threads(threads)
    views, seed = settings["views"], settings["seed"]
    summary = draw(
        demos, world_model, latents, chunk_backbone, chunk_stats, pairs, out,
        decoder={"kind": views["decoder"], "channels": views["decoder_channels"],
                 "size": views["decoder_size"], "steps": views["steps"],
                 "batch_size": views["batch_size"], "lr": views["lr"],
                 "foreground": views["foreground"]},
        seed=seed, n_frames=views["n_frames"], rollout_blocks=views["rollout_blocks"],
        n_pairs=views["n_pairs"])
    log.info("wrote %s", ", ".join(str(p) for p in out.values()))
    return summary


def training_curve_title(name: str) -> str:
    """Title of the training-curves figure of ``world_model`` or a registered stage."""
    from larc_core.methods import METHODS, STAGES

    if name == "world_model":
        return "World model (JEPA) training"
    labels = {m.stage.name: m.label for m in METHODS.values() if m.stage}
    if name in labels:
        return f"{labels[name]} training"
    # A stage no table row evaluates: the first clause of its description.
    return f"{STAGES[name].description.split(':')[0]} training" if name in STAGES else name


def training_curves(name: str, train_logs: str | list[str], out: str) -> None:
    """One figure for a training stage; several logs (one per seed, ``.../seed<s>/...``) are
    drawn as one line each, labelled by their seed folder."""
    from larc_core.reporting.curves import plot_training_curves

    logs = [train_logs] if isinstance(train_logs, str) else list(train_logs)
    labels = {str(Path(p).parent.name) if len(logs) > 1 else name: p for p in logs}
    plot_training_curves(labels, out, training_curve_title(name))
    log.info("wrote %s from %s", out, ", ".join(logs))


def runtime(benchmark_files: list[str], out_md: str = paths.RUNTIME,
            rules: dict[str, str] | None = None,
            metadata_dir: str | None = ".snakemake/metadata") -> None:
    """results/runtime.md from the benchmark files; ``rules`` maps each file to the rule that
    wrote it (rule runtime passes the workflow's own map; by hand the rule is inferred from the
    file name with the method registry, :func:`larc_core.reporting.runtime.rule_for_job`); job
    times from Snakemake's records in ``metadata_dir`` where they cover the job."""
    from larc_core.reporting.runtime import write_runtime

    write_runtime(benchmark_files, out_md, rules=rules, metadata_dir=metadata_dir)
    log.info("wrote %s from %d benchmark files", out_md, len(benchmark_files))


def controller_specs(
    settings: dict, demos: str = paths.DEMOS, world_model: str = paths.WORLD_MODEL,
    pairs: str | None = None, checkpoint_dirs: dict[str, str] | None = None,
    deciding_only: bool = True,
) -> dict[str, Any]:
    """Controller specs of every method of ``settings`` (``settings.controllers``) that decides
    (trained policies with the first seed's checkpoint unless ``checkpoint_dirs`` names one,
    planner rows); the sanity rows have no decision to time, and are included only with
    ``deciding_only=False``."""
    import json

    from larc_core.data import DemoFile
    from larc_core.evaluation.run import ControllerSpec
    from larc_core.methods import get_method

    pairs = pairs or paths.PAIRS.format(offset=settings["first_offset"])
    offset = int(json.loads(Path(pairs).read_text())["offset"])
    with DemoFile(demos) as demo:
        resolution = demo.resolution
    specs = {}
    for key in settings["methods"]:
        m = get_method(key)
        if deciding_only and not (m.learned or m.planned):
            continue
        ckpt = None
        if m.learned:
            ckpt = (checkpoint_dirs or {}).get(key) or m.checkpoint_dir(settings["first_seed"])
        specs[key] = ControllerSpec(
            method=key, offset=offset, resolution=resolution, demo_path=demos,
            world_model_path=world_model, checkpoint_dir=ckpt,
            execute_chunk_size=settings["execute_chunk_size"],
            planner=settings["planners"].get(key), seed=int(settings["seed"]),
            device=settings["device"],
        )
    return specs


def latency(
    settings: dict, eval_files: list[str], demos: str = paths.DEMOS,
    world_model: str = paths.WORLD_MODEL, pairs: str | None = None,
    checkpoint_dirs: dict[str, str] | None = None, out_md: str = paths.LATENCY_MD,
    out_json: str | None = paths.LATENCY_JSON, figure: str | None = paths.LATENCY_FIG,
) -> dict:
    """Time every deciding method of ``settings`` (``settings.latency``) batch-1 on CPU (one
    torch thread, one process) and write ``results/latency.md``, its JSON and the
    success-against-time figure (success from ``eval_files``)."""
    from larc_core.evaluation.latency import benchmark_methods
    from larc_core.reporting.latency import write_latency_report

    counts = settings["counts"]
    pairs = pairs or paths.PAIRS.format(offset=settings["first_offset"])
    specs = controller_specs(settings, demos, world_model, pairs, checkpoint_dirs)
    bench = benchmark_methods(
        specs, demos, pairs, warmup=counts["warmup"], calls=counts["calls"],
        plan_warmup=counts["plan_warmup"], plan_calls=counts["plan_calls"],
    )
    write_latency_report(bench, eval_files, out_md, out_json, figure)
    log.info("wrote %s (%d methods timed)", out_md, len(bench["methods"]))
    return bench


def rollout_videos(
    settings: dict, demos: str, world_model: str, pairs: str, eval_files: dict[str, str],
    checkpoint_dirs: dict[str, str], videos: dict[str, str], out_json: str,
) -> dict:
    """A success and a failure of every evaluated method, re-run and recorded as an MP4 each
    (``settings.rollout_videos``)."""
    from larc_core.reporting.rollout_videos import write_rollout_videos

    specs = controller_specs(settings, demos, world_model, pairs, checkpoint_dirs,
                             deciding_only=False)
    video = settings["video"]
    doc = write_rollout_videos(specs, eval_files, pairs, demos, videos, out_json,
                               video["size"], video["fps"])
    log.info("wrote %d rollout videos (%s)", len(videos), out_json)
    return doc
