"""Train policies on the latent cache: LARC-IDM, Chunk, Chunk + WM-FT, and the GC-IDM baseline.

``train_policy`` is the one entry point for the training rules. WM-FT starts from the Chunk
checkpoint and adds the rollout-consistency loss through the frozen world model. GC-IDM is
also given each example's true remaining steps to the goal: the sampled goal offset h.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from larc_core.config import schema_defaults
from larc_core.data import DemoFile
from larc_core.engine.loop import config_hash, run_training
from larc_core.engine.sampler import HindsightSampler
from larc_core.io import ArtifactError, atomic_write_text, sha256_file
from larc_core.logs import get_logger
from larc_core.losses import (
    bc_loss,
    imagine_chunks,
    rollout_consistency_loss,
    smoothness_loss,
)
from larc_core.methods import get_stage
from larc_core.policies import ActionStats, LatentPolicy, make_policy
from larc_core.policies.checkpoint import BACKBONE_FILE, load_policy, save_policy
from larc_core.seeding import resolve_device, seed_everything
from larc_core.world_model import load_latent_cache, load_world_model

log = get_logger("policy")


@dataclass
class FitResult:
    """A trained policy and what its training recorded."""

    policy: LatentPolicy
    stats: ActionStats
    history: list[dict[str, float]]
    """One dict of loss components per step."""
    val: dict[str, float]
    """Loss components on a fixed draw of validation-episode examples."""


def fit_policy(
    stage: str,
    *,
    latents: torch.Tensor,
    actions: np.ndarray,
    ep_offset: np.ndarray,
    ep_len: np.ndarray,
    train_episodes: np.ndarray,
    val_episodes: np.ndarray,
    policy_cfg: dict[str, Any],
    train_cfg: dict[str, Any],
    goal_offset_min: int,
    goal_offset_max: int,
    seed: int,
    state_path: str | Path,
    identity: dict[str, Any] | None = None,
    world_model: torch.nn.Module | None = None,
    init: tuple[LatentPolicy, ActionStats] | None = None,
    device: torch.device | str = "cpu",
    progress: bool = True,
) -> FitResult:
    """Train one policy stage on any per-frame representation; no files read or written
    except the resume state.

    The workflow passes world-model latents; ``benchmarks/state_policy_ceiling.py`` passes
    true-state features through the same code, so its ceiling is this trainer's.

    Args:
        latents: (N, D) one row per frame.
        actions: (N, A) raw relative actions (an episode's last row is padding).
        ep_offset, ep_len: (E,) first row and length of every episode.
        train_episodes, val_episodes: episode ids to train on and to report held-out losses on.
        policy_cfg: backbone config (hidden_dim, depth, chunk_len...); unused for ``wm_ft``.
        train_cfg: steps, batch_size, lr, weight_decay, smooth_weight, and for ``wm_ft``
            bc_weight and consistency_weight.
        state_path: resume state file (kept outside the declared outputs).
        identity: what else identifies the run (input hashes), folded into the resume hash.
        world_model: the frozen world model; required by ``wm_ft`` only.
        init: (Chunk policy, its action stats) that ``wm_ft`` starts from.
    """
    st = get_stage(stage)
    dev = torch.device(device)
    seed_everything(seed)
    latents = latents.float()
    if st.rollout_consistency and world_model is None:
        raise ValueError(f"{stage} needs the world model (rollout-consistency loss)")
    if st.init_from:
        if init is None:
            raise ValueError(f"{stage} needs init (the {st.init_from} policy it fine-tunes)")
        policy, stats = init
    else:
        rows = np.concatenate([
            np.arange(ep_offset[e], ep_offset[e] + ep_len[e] - 1) for e in train_episodes
        ])
        stats = ActionStats.from_actions(torch.as_tensor(np.asarray(actions)[rows]))
        policy = make_policy(st.backbone, latent_dim=latents.shape[1], **policy_cfg)
    policy.to(dev)
    k = policy.chunk_len
    frameskip = world_model.cfg.frameskip if world_model is not None else 1
    if st.rollout_consistency and k % frameskip:
        raise ValueError(f"{stage} needs chunk_len ({k}) to be a multiple of frameskip "
                         f"({frameskip}) for its world-model rollouts")

    # A partial block (a library caller's) gets the schema's defaults of the stage's block.
    train_cfg = {**schema_defaults("policy", st.train_block), **train_cfg}
    # Rollout consistency: how many chunks it imagines and which recorded latents it matches.
    n_chunks = int(train_cfg.get("rollout_chunks", 1)) if st.rollout_consistency else 1
    wm_target = train_cfg.get("target", "future")
    if wm_target not in ("future", "path"):
        raise ValueError(f"{stage}: target must be 'future' or 'path', got {wm_target!r}")

    def sampler(episodes: np.ndarray) -> HindsightSampler:
        return HindsightSampler(
            latents, actions, ep_offset, ep_len, episodes, k, goal_offset_min, goal_offset_max,
            horizon=n_chunks * k, stride=frameskip if wm_target == "path" else k,
        )

    train_sampler, val_sampler = sampler(train_episodes), sampler(val_episodes)
    bs = int(train_cfg["batch_size"])
    smooth_w = float(train_cfg["smooth_weight"])
    # Pure behaviour cloning unless the block weighs it against another loss (WM-FT).
    bc_w = float(train_cfg.get("bc_weight", 1.0))
    cons_w = float(train_cfg["consistency_weight"]) if st.rollout_consistency else 0.0

    def losses_for(batch) -> dict[str, torch.Tensor]:
        z, zg = batch.z.to(dev), batch.z_goal.to(dev)
        target = stats.normalize(batch.actions.to(dev))
        # Horizon policies (GC-IDM) also read the goal offset h = steps left to the goal; the
        # others ignore it, so their computation (and every random draw) is unchanged.
        pred = policy.predict(z, zg, batch.offsets.to(dev))
        out = {"bc": bc_loss(pred, target), "smooth": smoothness_loss(pred)}
        total = bc_w * out["bc"] + smooth_w * out["smooth"]
        if st.rollout_consistency and n_chunks == 1 and wm_target == "future":
            raw = stats.denormalize(pred)
            out["wm"] = rollout_consistency_loss(
                world_model, z, raw, batch.z_future.to(dev), frameskip
            )
            total = total + cons_w * out["wm"]
        elif st.rollout_consistency:
            offsets = batch.offsets.to(dev)

            def act(z_now: torch.Tensor, j: int) -> torch.Tensor:
                return stats.denormalize(policy.predict(z_now, zg, (offsets - j * k).clamp(min=1)))

            imagined = imagine_chunks(world_model, act, z, stats.denormalize(pred), n_chunks,
                                      frameskip)
            if wm_target == "future":  # the latent at the end of every chunk
                imagined = imagined[:, k // frameskip - 1::k // frameskip]
            out["wm"] = torch.nn.functional.mse_loss(imagined, batch.z_path.to(dev))
            total = total + cons_w * out["wm"]
        out["total"] = total
        return out

    def loss_fn(step: int) -> dict[str, torch.Tensor]:
        return losses_for(train_sampler.sample(bs, seed, step))

    # Held-out losses on one fixed draw of validation-episode examples (the sampler draws from
    # its own seeded generator), every val_every steps and at the end: over-fitting shows.
    val_batch = val_sampler.sample(1024, seed + 1, 0)

    def validate() -> dict[str, float]:
        return {n: float(v) for n, v in losses_for(val_batch).items()}

    run = {
        "stage": stage, "policy": policy.cfg.to_dict(), "train": train_cfg, "seed": seed,
        "goal": [goal_offset_min, goal_offset_max], **(identity or {}),
    }
    history = run_training(
        policy,
        loss_fn,
        steps=int(train_cfg["steps"]),
        lr=float(train_cfg["lr"]),
        weight_decay=float(train_cfg["weight_decay"]),
        warmup_steps=int(train_cfg["warmup_steps"]),
        grad_clip=float(train_cfg["grad_clip"]),
        state_path=state_path,
        run_hash=config_hash(run),
        checkpoint_every=int(train_cfg["checkpoint_every"]),
        desc=f"train {stage}",
        progress=progress,
        validate=validate,
        val_every=int(train_cfg["val_every"]),
    )
    val = {k.removeprefix("val_"): v for k, v in history[-1].items() if k.startswith("val_")}
    log.info("%s validation losses: %s", stage, val)
    return FitResult(policy=policy, stats=stats, history=history, val=val)


def train_policy(
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
    progress: bool = True,
    max_replay_noise: float | None = None,
) -> dict[str, Any]:
    """Train one policy stage and write its checkpoint folder.

    Args:
        stage: a registered training stage (``larc_core.methods.STAGES``).
        policy_cfg: backbone config values (hidden_dim, depth, chunk_len...); ignored for
            ``wm_ft``, which inherits the Chunk checkpoint's config.
        train_cfg: steps, batch_size, lr, weight_decay, smooth_weight, and for ``wm_ft``
            bc_weight and consistency_weight.
        init_dir: Chunk checkpoint folder WM-FT starts from.
        max_replay_noise: train (and validate) on the episodes of a noisy-replay file whose
            noise level is at most this (0: the source demonstrations only); None, or a file
            without replay levels: every episode.

    Writes ``out_dir/shared_policy_backbone.pt``, ``out_dir/action_stats.pt`` and
    ``out_dir/train_log.jsonl`` (one JSON object of loss components per step).
    """
    st = get_stage(stage)
    out_dir = Path(out_dir)
    dev = resolve_device(device)
    wm_sha = sha256_file(world_model_path)
    world_model = load_world_model(world_model_path, device=dev)
    with DemoFile(demo_path) as demo:
        cache = load_latent_cache(latents_path, expected_wm_sha256=wm_sha, demo=demo,
                                  world_model_path=world_model_path)
        latents = cache.latents.float()
        latent_dim = latents.shape[1]
        demo_fingerprint = demo.fingerprint
        if demo.n_frames != latents.shape[0]:
            raise ArtifactError(
                f"latent cache {latents_path} has {latents.shape[0]} rows but {demo_path} has "
                f"{demo.n_frames} frames; rerun cache_latents"
            )
        actions = np.asarray(demo.action, dtype=np.float32)
        ep_offset, ep_len = np.asarray(demo.ep_offset), np.asarray(demo.ep_len)
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

    if st.init_from:
        if init_dir is None:
            raise ValueError(f"{stage} needs init_dir (the {st.init_from} checkpoint folder)")
        init_path = Path(init_dir) / BACKBONE_FILE
        *init, init_meta = load_policy(
            init_path, expected_world_model_sha256=wm_sha, expected_latent_dim=latent_dim)
        init = tuple(init)
        # A checkpoint this project trained records its demonstrations (a published one does
        # not): it must have been trained on these.
        recorded = init_meta.get("demo_fingerprint")
        if recorded is not None and recorded != demo_fingerprint:
            raise ArtifactError(
                f"{init_path} was trained on other demonstrations (content fingerprint "
                f"{recorded[:12]}) than {demo_path} ({demo_fingerprint[:12]}); rerun "
                f"{get_stage(st.init_from).rule} on {demo_path}")
    else:
        init = None
    # The episodes it trains and validates on (a new split or noise filter must not resume).
    episodes = hashlib.sha256(np.concatenate([train_eps, [-1], val_eps]).astype(np.int64)
                              .tobytes()).hexdigest()
    identity = {
        "wm": wm_sha, "latents": cache.meta, "episodes": episodes,
        "init": sha256_file(Path(init_dir) / BACKBONE_FILE) if init_dir else None,
    }
    fit = fit_policy(
        stage, latents=latents, actions=actions, ep_offset=ep_offset, ep_len=ep_len,
        train_episodes=train_eps, val_episodes=val_eps, policy_cfg=policy_cfg,
        train_cfg=train_cfg, goal_offset_min=goal_offset_min, goal_offset_max=goal_offset_max,
        seed=seed, state_path=Path(state_dir) / "last.pt", identity=identity,
        world_model=world_model, init=init, device=dev, progress=progress,
    )
    policy, stats, history, val = fit.policy, fit.stats, fit.history, fit.val
    name = st.backbone
    meta = {
        "stage": stage,
        "world_model_sha256": wm_sha,
        "latent_dim": latent_dim,
        "seed": seed,
        "steps": int(train_cfg["steps"]),
        "final_train": history[-1] if history else {},
        "val": val,
        "goal_offset_range": [goal_offset_min, goal_offset_max],
        "demo_fingerprint": demo_fingerprint,
        "latents_sha256": sha256_file(latents_path),
        "max_replay_noise": max_replay_noise,
        "train_episodes": int(train_eps.size),
    }
    policy.cpu()
    atomic_write_text(out_dir / "train_log.jsonl", "".join(json.dumps(r) + "\n" for r in history))
    save_policy(policy, name, stats, out_dir, meta)
    return meta
