"""One function per workflow stage, called by the Snakemake scripts and by the ``larc`` CLI.

Each takes the validated config dict plus explicit input/output paths, so a rule and a manual
``larc <stage>`` run do exactly the same work.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from larc_core import paths
from larc_core.logs import get_logger

log = get_logger("stage")


def _threads(threads: int | None) -> None:
    """Torch intra-op threads for a job: its ``threads``, never more than the machine's cores
    (oversubscribed torch threads busy-wait on each other)."""
    if threads:
        torch.set_num_threads(max(1, min(int(threads), os.cpu_count() or 1)))


def link_artifacts(config: dict, manifest: str = paths.MANIFEST, root: str = ".") -> dict:
    from larc_core.artifacts import link_artifacts as link

    return link(config["artifacts"].get("dir"), root, manifest, config["world_model"]["model"])


def import_world_model(config: dict, source: str, demos: str = paths.DEMOS,
                       out: str | None = None) -> dict:
    """Convert a linked LeWM checkpoint into the LARC world-model format (weights checked
    against ``world_model.model``, action statistics fitted on ``demos``)."""
    from larc_core.artifacts import IMPORTED_WORLD_MODEL
    from larc_core.world_model import import_lewm_checkpoint

    meta = import_lewm_checkpoint(source, demos, out or IMPORTED_WORLD_MODEL,
                                  config["world_model"]["model"])
    log.info("imported world model %s -> %s (action mean %s, std %s)", source,
             out or IMPORTED_WORLD_MODEL, meta.get("action_mean"), meta.get("action_std"))
    return meta


def collect_demos(config: dict, out: str = paths.DEMOS, threads: int = 1) -> dict:
    from larc_core.data import collect_demos as collect

    d = config["data"]
    summary = collect(
        out, n_episodes=d["n_episodes"], min_len=d["min_len"], max_len=d["max_len"],
        resolution=d["resolution"], seed=d["seed"], workers=max(1, int(threads)),
        val_fraction=d["val_fraction"], demonstrator=d.get("demonstrator", "state_expert"),
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


def train_world_model(
    config: dict, demos: str = paths.DEMOS, out: str = paths.WORLD_MODEL, threads: int = 1
) -> dict:
    from larc_core.world_model import (
        WorldModelConfig,
        WorldModelTrainConfig,
    )
    from larc_core.world_model import (
        train_world_model as train,
    )

    _threads(threads)
    wm = config["world_model"]
    return train(
        WorldModelConfig.from_dict(wm["model"]),
        WorldModelTrainConfig(**wm["train"]),
        demos, out, Path(paths.STATE_ROOT) / "train_world_model", config["device"], config["seed"],
    )


def cache_latents(
    config: dict, demos: str = paths.DEMOS, world_model: str = paths.WORLD_MODEL,
    out: str = paths.LATENTS, threads: int = 1,
) -> None:
    from larc_core.world_model import build_latent_cache

    _threads(threads)
    build_latent_cache(
        demos, world_model, out,
        batch_size=config["world_model"]["train"].get("cache_batch_size", 256),
        device=config["device"],
    )


def train_policy(
    config: dict, stage: str, demos: str = paths.DEMOS, latents: str = paths.LATENTS,
    world_model: str = paths.WORLD_MODEL, out_dir: str | None = None,
    init_dir: str | None = None, seed: int | None = None, threads: int = 1,
) -> dict[str, Any]:
    """Train ``idm``, ``chunk``, ``wm_ft`` or ``gc_idm`` with one seed (WM-FT starts from
    ``init_dir``).

    ``seed`` defaults to the first of ``config["seeds"]``; checkpoints go to
    ``paths.policy_dir(stage, seed)`` and resumable state to ``.larc_state/train_<stage>/seed<s>``.
    """
    from larc_core.training.policy_train import train_policy as train

    _threads(threads)
    seed = int(config["seeds"][0] if seed is None else seed)
    p = config["policy"]
    backbone_cfg = {} if stage == "wm_ft" else dict(p[stage])
    train_cfg = dict(p["wm_ft"]) if stage == "wm_ft" else dict(p["train"])
    if stage == "wm_ft":
        train_cfg.setdefault("batch_size", p["train"]["batch_size"])
    return train(
        stage, demo_path=demos, latents_path=latents, world_model_path=world_model,
        out_dir=out_dir or paths.policy_dir(stage, seed),
        state_dir=Path(paths.STATE_ROOT) / f"train_{stage}" / f"seed{seed}",
        policy_cfg=backbone_cfg, train_cfg=train_cfg,
        goal_offset_min=p["goal_offset_min"], goal_offset_max=p["goal_offset_max"],
        seed=seed, device=config["device"],
        init_dir=(init_dir or paths.policy_dir("chunk", seed)) if stage == "wm_ft" else None,
    )


def eval_pairs(config: dict, offset: int, demos: str = paths.DEMOS, out: str | None = None) -> dict:
    from larc_core.evaluation.pairs import write_pairs

    e = config["eval"]
    return write_pairs(
        demos, int(offset), e["n_episodes"], e["seed"], out or paths.PAIRS.format(offset=offset)
    )


def evaluate(
    config: dict, method: str, offset: int, demos: str = paths.DEMOS,
    world_model: str | None = paths.WORLD_MODEL, checkpoint_dir: str | None = None,
    pairs: str | None = None, out: str | None = None, seed: int | None = None,
    threads: int = 1,
) -> dict:
    """Evaluate one method at one offset; trained methods use the checkpoint of ``seed``
    (default: the first of ``config["seeds"]``), untrained ones ignore it. Planner rows (CEM)
    use the world model, the ``planner:`` settings and ``eval.seed`` for their candidate draws.

    ``threads`` is the number of worker processes the episodes are spread over; every process
    runs torch with one thread (the records do not depend on ``threads``)."""
    from larc_core.evaluation.run import evaluate as run_eval
    from larc_core.methods import get_method

    e = config["eval"]
    m = get_method(method)
    seed = (int(config["seeds"][0] if seed is None else seed)) if m.learned else None
    planner, latency_warmup, latency_calls = None, e.get("latency_warmup", 20), \
        e.get("latency_calls", 200)
    eval_seed = config["seed"] if seed is None else seed
    max_pairs = None
    if m.planned:
        from larc_core.planning import planner_settings

        p = config.get("planner")
        planner = planner_settings(p, method)
        latency_warmup, latency_calls = p.get("latency_warmup", 1), p.get("latency_calls", 5)
        eval_seed = int(e["seed"])
        max_pairs = p.get("n_pairs")
    return run_eval(
        method, demo_path=demos,
        world_model_path=world_model if (m.learned or m.planned) else None,
        checkpoint_dir=(checkpoint_dir or m.checkpoint_dir(seed)) if m.learned else None,
        pairs_path=pairs or paths.PAIRS.format(offset=offset),
        out_path=out or paths.eval_path(method, offset, seed),
        execute_chunk_size=e["execute_chunk_size"], planner=planner,
        latency_warmup=latency_warmup, latency_calls=latency_calls,
        device=config["device"], seed=eval_seed, policy_seed=seed,
        workers=max(1, int(threads or 1)), max_pairs=max_pairs,
    )


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


def table(config: dict, eval_files: list[str] | None = None, out_md: str = paths.TABLE,
          out_csv: str = paths.TABLE_CSV, figure: str | None = paths.FIGURE,
          latency_json: str | None = None) -> None:
    """The results table; its latency column from ``latency_json`` (rule latency) if given."""
    from larc_core.reporting.table import write_table

    files = eval_files or default_eval_files(config)
    df = write_table(files, out_md, out_csv, figure, latency_json)
    log.info("wrote %s and %s from %d eval files (%d rows)", out_md, out_csv, len(files), len(df))


def figures(config: dict, eval_files: list[str] | None = None, out: str = paths.FIGURE) -> None:
    from larc_core.reporting.figures import success_vs_offset

    files = eval_files or default_eval_files(config)
    success_vs_offset(files, out)
    log.info("wrote %s from %d eval files", out, len(files))


def world_model_health(
    config: dict, demos: str = paths.DEMOS, world_model: str = paths.WORLD_MODEL,
    latents: str = paths.LATENTS, out_md: str = paths.WM_HEALTH_MD,
    out_json: str = paths.WM_HEALTH_JSON, out_png: str = paths.WM_HEALTH_FIG, *,
    gap_evals: list[str] | None = None, state_ceiling: str | None = None,
    views: dict[str, str] | None = None, probe_log: str | None = None,
) -> dict:
    """Health metrics and probes of the world model in ``out_md``; with ``state_ceiling`` (and
    the LARC evaluations ``gap_evals``) the latent-policy gap, with ``probe_log`` the settings
    tried, with ``views`` the pictures of rule ``world_model_views``."""
    from larc_core.reporting.world_model import gap_section, settings_section, views_section
    from larc_core.world_model.health import world_model_health as health

    sections = []
    if state_ceiling:
        sections.append(gap_section(gap_evals or [], state_ceiling))
    if views:
        sections.append(views_section(views, out_md))
    if probe_log and Path(probe_log).exists():
        sections.append(settings_section(probe_log))
    report = health(demos, world_model, latents, out_md, out_json, out_png, seed=config["seed"],
                    device=config["device"], extra_sections=sections)
    log.info("wrote %s, %s and %s", out_md, out_json, out_png)
    return report


def state_ceiling(demos: str, pairs: list[str], out: str, policy: dict, stages: list[str],
                  seed: int, threads: int = 1) -> dict:
    """LARC policies trained on the true state, run on the evaluation pairs -> ``out`` (JSON)."""
    from larc_core.evaluation.state_ceiling import state_ceiling as ceiling
    from larc_core.io import atomic_write_json

    _threads(threads)
    res = ceiling(demos, pairs, stages, policy, seed, Path(paths.STATE_ROOT) / "state_ceiling")
    atomic_write_json(out, res)
    log.info("wrote %s: %s", out, ", ".join(
        f"{r['stage']} h{r['offset']} {r['successes']}/{r['n_episodes']}" for r in res["rows"]))
    return res


def world_model_views(demos: str, world_model: str, latents: str, chunk_backbone: str,
                      chunk_stats: str, pairs: str, out: dict[str, str], views: dict, seed: int,
                      threads: int = 1) -> dict:
    """Pictures of what the world model sees (see :mod:`larc_core.reporting.imagination`)."""
    from larc_core.reporting.imagination import world_model_views as draw

    _threads(threads)
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


TRAIN_CURVE_TITLES = {
    "world_model": "World model (JEPA) training",
    "idm": "LARC-IDM training",
    "chunk": "LARC-Chunk training",
    "wm_ft": "LARC-Chunk + WM-FT fine-tuning",
    "gc_idm": "GC-IDM (horizon-conditioned IDM) training",
}


def training_curves(name: str, train_logs: str | list[str], out: str) -> None:
    """One figure for a training stage; several logs (one per seed, ``.../seed<s>/...``) are
    drawn as one line each, labelled by their seed folder."""
    from larc_core.reporting.curves import plot_training_curves

    logs = [train_logs] if isinstance(train_logs, str) else list(train_logs)
    labels = {str(Path(p).parent.name) if len(logs) > 1 else name: p for p in logs}
    plot_training_curves(labels, out, TRAIN_CURVE_TITLES.get(name, name))
    log.info("wrote %s from %s", out, ", ".join(logs))


def runtime(benchmark_files: list[str], out_md: str = paths.RUNTIME) -> None:
    from larc_core.reporting.runtime import write_runtime

    # eval covers eval_reference files
    rules = ["collect_demos", "train_world_model", "cache_latents", "train_idm", "train_chunk",
             "train_wm_ft", "train_gc_idm", "world_model_health", "state_ceiling",
             "world_model_views", "eval"]
    write_runtime(benchmark_files, out_md, rules=rules)
    log.info("wrote %s from %d benchmark files", out_md, len(benchmark_files))


def controller_specs(
    config: dict, demos: str = paths.DEMOS, world_model: str = paths.WORLD_MODEL,
    pairs: str | None = None, checkpoint_dirs: dict[str, str] | None = None,
    deciding_only: bool = True,
) -> dict[str, Any]:
    """Controller specs of every evaluated method that decides (LARC policies with the first
    seed's checkpoint unless ``checkpoint_dirs`` names one, planner rows); the sanity rows
    have no decision to time, and are included only with ``deciding_only=False``."""
    import json

    from larc_core.data import DemoFile
    from larc_core.evaluation.run import ControllerSpec
    from larc_core.methods import get_method
    from larc_core.planning import planner_settings

    e = config["eval"]
    pairs = pairs or paths.PAIRS.format(offset=e["offsets"][0])
    offset = int(json.loads(Path(pairs).read_text())["offset"])
    with DemoFile(demos) as demo:
        resolution = demo.resolution
    specs = {}
    for key in e["methods"]:
        m = get_method(key)
        if deciding_only and not (m.learned or m.planned):
            continue
        ckpt = None
        if m.learned:
            ckpt = (checkpoint_dirs or {}).get(key) or m.checkpoint_dir(config["seeds"][0])
        specs[key] = ControllerSpec(
            method=key, offset=offset, resolution=resolution, demo_path=demos,
            world_model_path=world_model, checkpoint_dir=ckpt,
            execute_chunk_size=e["execute_chunk_size"],
            planner=planner_settings(config.get("planner"), key) if m.planned else None,
            seed=int(e["seed"]), device=config["device"],
        )
    return specs


def latency(
    config: dict, demos: str = paths.DEMOS, world_model: str = paths.WORLD_MODEL,
    pairs: str | None = None, eval_files: list[str] | None = None,
    checkpoint_dirs: dict[str, str] | None = None, out_md: str = paths.LATENCY_MD,
    out_json: str | None = paths.LATENCY_JSON, figure: str | None = paths.LATENCY_FIG,
) -> dict:
    """Time every deciding method batch-1 on CPU (one torch thread, one process) and write
    ``results/latency.md``, its JSON and the success-against-time figure."""
    from larc_core.evaluation.latency import benchmark_methods
    from larc_core.reporting.latency import write_latency_report

    lat = config.get("latency") or {}
    e = config["eval"]
    pairs = pairs or paths.PAIRS.format(offset=e["offsets"][0])
    specs = controller_specs(config, demos, world_model, pairs, checkpoint_dirs)
    bench = benchmark_methods(
        specs, demos, pairs, warmup=lat.get("warmup", 50), calls=lat.get("calls", 1000),
        plan_warmup=lat.get("plan_warmup", 2), plan_calls=lat.get("plan_calls", 20),
    )
    files = eval_files if eval_files is not None else default_eval_files(config)
    write_latency_report(bench, files, out_md, out_json, figure)
    log.info("wrote %s (%d methods timed)", out_md, len(bench["methods"]))
    return bench


def rollout_videos(
    config: dict, demos: str, world_model: str, pairs: str, eval_files: dict[str, str],
    checkpoint_dirs: dict[str, str], gifs: dict[str, str], out_json: str,
) -> dict:
    """A success and a failure of every evaluated method, re-run and recorded as a GIF each."""
    from larc_core.reporting.rollout_videos import write_rollout_videos

    specs = controller_specs(config, demos, world_model, pairs, checkpoint_dirs,
                          deciding_only=False)
    doc = write_rollout_videos(specs, eval_files, pairs, demos, gifs, out_json)
    log.info("wrote %d rollout videos (%s)", len(gifs), out_json)
    return doc
