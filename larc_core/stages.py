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

    return link(config["artifacts"].get("dir"), root, manifest)


def collect_demos(config: dict, out: str = paths.DEMOS, threads: int = 1) -> dict:
    from larc_core.data import collect_demos as collect

    d = config["data"]
    summary = collect(
        out, n_episodes=d["n_episodes"], min_len=d["min_len"], max_len=d["max_len"],
        resolution=d["resolution"], seed=d["seed"], workers=max(1, int(threads)),
        val_fraction=d["val_fraction"], demonstrator=d.get("demonstrator", "expert"),
    )
    log.info("collected demonstrations: %s", summary)
    return summary


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
    """Train ``idm``, ``chunk`` or ``wm_ft`` with one seed (WM-FT starts from ``init_dir``).

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
    (default: the first of ``config["seeds"]``), untrained ones ignore it."""
    from larc_core.evaluation.run import evaluate as run_eval
    from larc_core.methods import get_method

    _threads(threads)
    e = config["eval"]
    m = get_method(method)
    seed = (int(config["seeds"][0] if seed is None else seed)) if m.learned else None
    return run_eval(
        method, demo_path=demos, world_model_path=world_model if m.learned else None,
        checkpoint_dir=(checkpoint_dir or m.checkpoint_dir(seed)) if m.learned else None,
        pairs_path=pairs or paths.PAIRS.format(offset=offset),
        out_path=out or paths.eval_path(method, offset, seed),
        execute_chunk_size=e["execute_chunk_size"],
        latency_warmup=e.get("latency_warmup", 20), latency_calls=e.get("latency_calls", 200),
        device=config["device"], seed=config["seed"] if seed is None else seed,
        policy_seed=seed,
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
          out_csv: str = paths.TABLE_CSV, figure: str | None = paths.FIGURE) -> None:
    from larc_core.reporting.table import write_table

    files = eval_files or default_eval_files(config)
    df = write_table(files, out_md, out_csv, figure)
    log.info("wrote %s and %s from %d eval files (%d rows)", out_md, out_csv, len(files), len(df))


def figures(config: dict, eval_files: list[str] | None = None, out: str = paths.FIGURE) -> None:
    from larc_core.reporting.figures import success_vs_offset

    files = eval_files or default_eval_files(config)
    success_vs_offset(files, out)
    log.info("wrote %s from %d eval files", out, len(files))


def world_model_health(
    config: dict, demos: str = paths.DEMOS, world_model: str = paths.WORLD_MODEL,
    latents: str = paths.LATENTS, out_md: str = paths.WM_HEALTH_MD,
    out_json: str = paths.WM_HEALTH_JSON, out_png: str = paths.WM_HEALTH_FIG,
) -> dict:
    from larc_core.world_model.health import world_model_health as health

    report = health(demos, world_model, latents, out_md, out_json, out_png, seed=config["seed"])
    log.info("wrote %s, %s and %s", out_md, out_json, out_png)
    return report


TRAIN_CURVE_TITLES = {
    "world_model": "World model (JEPA) training",
    "idm": "LARC-IDM training",
    "chunk": "LARC-Chunk training",
    "wm_ft": "LARC-Chunk + WM-FT fine-tuning",
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

    rules = ["collect_demos", "train_world_model", "cache_latents", "train_idm", "train_chunk",
             "train_wm_ft", "world_model_health", "eval"]  # eval covers eval_reference files
    write_runtime(benchmark_files, out_md, rules=rules)
    log.info("wrote %s from %d benchmark files", out_md, len(benchmark_files))
