"""Train one registered stage from the workflow's files and write its checkpoint folder.

``train_stage`` is the one entry point of the training rules (``train_<stage>``) and of
``larc train-<stage>``: it reads the demonstrations, the latent cache and the world model (each
checked against the others), the initial checkpoint and the products of the stages it uses, fits
the stage's objective (:func:`larc_core.training.fit.fit_stage`) and writes the objective's files
plus ``train_log.jsonl``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from larc_core.data import DemoFile
from larc_core.io import ArtifactError, atomic_write_text, sha256_file
from larc_core.methods import get_stage
from larc_core.objectives import TrainData, stage_objective, stage_spec
from larc_core.objectives.spec import TRAIN_LOG_FILE
from larc_core.seeding import resolve_device
from larc_core.training.fit import fit_stage
from larc_core.world_model import load_latent_cache, load_world_model


def _episodes(demo: DemoFile, max_replay_noise: float | None,
              demo_path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) episode ids, restricted to replay noise <= ``max_replay_noise``."""
    train_eps, val_eps = np.asarray(demo.train_episodes), np.asarray(demo.val_episodes)
    noise = demo.episode_noise
    if max_replay_noise is not None and noise is not None:
        # Levels are stored as float32: compare at that precision (0.1 keeps level 0.1).
        limit = float(np.float32(max_replay_noise))
        train_eps = train_eps[noise[train_eps] <= limit]
        val_eps = val_eps[noise[val_eps] <= limit]
        if train_eps.size == 0:
            raise ArtifactError(f"no training episode of {demo_path} has a replay noise "
                                f"level <= policy.max_replay_noise ({max_replay_noise})")
    return train_eps, val_eps


def _product_sha256(stage: str, folder: Path) -> str:
    """sha256 of a stage's main product in ``folder`` (its first output file)."""
    return sha256_file(folder / next(iter(stage_spec(stage).output_files.values())))


def train_stage(
    stage: str,
    *,
    demo_path: str | Path,
    latents_path: str | Path,
    world_model_path: str | Path,
    out_dir: str | Path,
    state_dir: str | Path,
    policy_cfg: dict[str, Any],
    train_cfg: dict[str, Any],
    goal_offset_min: int,
    goal_offset_max: int,
    seed: int,
    device: str = "cpu",
    init_dir: str | Path | None = None,
    uses: dict[str, str | Path] | None = None,
    progress: bool = True,
    max_replay_noise: float | None = None,
) -> dict[str, Any]:
    """Train one stage and write its checkpoint folder.

    Args:
        stage: a registered training stage (``larc_core.methods.STAGES``).
        policy_cfg: backbone config values (hidden_dim, depth, chunk_len...); {} for a stage
            that inherits its initial checkpoint's or trains no policy.
        train_cfg: the stage's objective block (``policy.train``, ``policy.wm_ft``, ...).
        init_dir: checkpoint folder of the stage it starts from (``Stage.init_from``).
        uses: stage name -> checkpoint folder of every stage in ``Stage.uses``.
        max_replay_noise: train (and validate) on the episodes of a noisy-replay file whose
            noise level is at most this (0: the source demonstrations only); None, or a file
            without replay levels: every episode.

    Writes the objective's files (a policy: ``shared_policy_backbone.pt``,
    ``action_stats.pt``) and ``train_log.jsonl`` (one JSON object of loss components per step)
    into ``out_dir``; returns the meta recorded in them.
    """
    st = get_stage(stage)
    cls = stage_objective(st)
    out_dir = Path(out_dir)
    dev = resolve_device(device)
    wm_sha = sha256_file(world_model_path)
    world_model = load_world_model(world_model_path, device=dev)
    with DemoFile(demo_path) as demo:
        cache = load_latent_cache(latents_path, expected_wm_sha256=wm_sha, demo=demo,
                                  world_model_path=world_model_path)
        latents = cache.latents.float()
        demo_fingerprint = demo.fingerprint
        if demo.n_frames != latents.shape[0]:
            raise ArtifactError(
                f"latent cache {latents_path} has {latents.shape[0]} rows but {demo_path} has "
                f"{demo.n_frames} frames; rerun cache_latents"
            )
        actions = np.asarray(demo.action, dtype=np.float32) if cls.reads_actions else None
        ep_offset, ep_len = np.asarray(demo.ep_offset), np.asarray(demo.ep_len)
        train_eps, val_eps = _episodes(demo, max_replay_noise, demo_path)

    init = None
    if st.init_from:
        if init_dir is None:
            raise ValueError(f"{stage} needs init_dir (the {st.init_from} checkpoint folder)")
        init = cls.load_init(Path(init_dir), world_model_sha256=wm_sha,
                             latent_dim=latents.shape[1], demo_fingerprint=demo_fingerprint,
                             init_rule=get_stage(st.init_from).rule)
    uses = {name: Path(folder) for name, folder in (uses or {}).items()}
    missing = sorted(set(st.uses) - set(uses))
    if missing:
        raise ValueError(f"{stage} uses the products of {missing}: give their folders")
    # The episodes it trains and validates on (a new split or noise filter must not resume).
    episodes = hashlib.sha256(np.concatenate([train_eps, [-1], val_eps]).astype(np.int64)
                              .tobytes()).hexdigest()
    identity = {
        "wm": wm_sha, "latents": cache.meta, "episodes": episodes,
        "init": _product_sha256(st.init_from, Path(init_dir)) if st.init_from else None,
        **({"uses": {n: _product_sha256(n, f) for n, f in uses.items()}} if uses else {}),
    }
    data = TrainData(latents=latents, actions=actions, ep_offset=ep_offset, ep_len=ep_len,
                     train_episodes=train_eps, val_episodes=val_eps,
                     goal_offset_min=goal_offset_min, goal_offset_max=goal_offset_max,
                     world_model=world_model)
    fit = fit_stage(stage, data, train_cfg=train_cfg, model_cfg=policy_cfg, seed=seed,
                    state_path=Path(state_dir) / "last.pt", identity=identity, init=init,
                    uses=uses, device=dev, progress=progress)
    meta = {
        "stage": stage,
        "world_model_sha256": wm_sha,
        "latent_dim": int(latents.shape[1]),
        "seed": seed,
        "steps": int(fit.objective.cfg.steps),
        "final_train": fit.history[-1] if fit.history else {},
        "val": fit.val,
        "goal_offset_range": [goal_offset_min, goal_offset_max],
        "demo_fingerprint": demo_fingerprint,
        "latents_sha256": sha256_file(latents_path),
        "max_replay_noise": max_replay_noise,
        # The episodes its objective trained on (a labeled fraction may be fewer than given).
        "train_episodes": int(fit.objective.data.train_episodes.size),
    }
    atomic_write_text(out_dir / TRAIN_LOG_FILE,
                      "".join(json.dumps(r) + "\n" for r in fit.history))
    fit.objective.save(out_dir, meta)
    return meta
