"""Train policies on the latent cache: LARC-IDM, Chunk, Chunk + WM-FT, and the GC-IDM baseline.

``train_policy`` is the one entry point for the training rules. WM-FT starts from the Chunk
checkpoint and adds the rollout-consistency loss through the frozen world model. GC-IDM is
also given each example's true remaining steps to the goal: the sampled goal offset h.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from larc_core.data import DemoFile
from larc_core.io import ArtifactError, atomic_write_text, sha256_file
from larc_core.logs import get_logger
from larc_core.losses import bc_loss, rollout_consistency_loss, smoothness_loss
from larc_core.policies import ActionStats, make_policy
from larc_core.policies.checkpoint import BACKBONE_FILE, load_policy, save_policy
from larc_core.seeding import resolve_device, seed_everything
from larc_core.training.loop import config_hash, run_training
from larc_core.training.sampler import HindsightSampler
from larc_core.world_model import load_latent_cache, load_world_model

log = get_logger("policy")

STAGES = ("idm", "chunk", "wm_ft", "gc_idm")


def _train_actions(demo: DemoFile) -> np.ndarray:
    """Raw actions of the training episodes, without each episode's padded last row."""
    rows = [
        np.arange(demo.ep_offset[e], demo.ep_offset[e] + demo.ep_len[e] - 1)
        for e in demo.train_episodes
    ]
    return np.asarray(demo.action)[np.concatenate(rows)]


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
) -> dict[str, Any]:
    """Train one policy stage and write its checkpoint folder.

    Args:
        stage: ``idm``, ``chunk``, ``wm_ft`` or ``gc_idm``.
        policy_cfg: backbone config values (hidden_dim, depth, chunk_len...); ignored for
            ``wm_ft``, which inherits the Chunk checkpoint's config.
        train_cfg: steps, batch_size, lr, weight_decay, smooth_weight, and for ``wm_ft``
            bc_weight and consistency_weight.
        init_dir: Chunk checkpoint folder WM-FT starts from.

    Writes ``out_dir/shared_policy_backbone.pt``, ``out_dir/action_stats.pt`` and
    ``out_dir/train_log.jsonl`` (one JSON object of loss components per step).
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
    out_dir = Path(out_dir)
    dev = resolve_device(device)
    seed_everything(seed)
    wm_sha = sha256_file(world_model_path)
    world_model = load_world_model(world_model_path, device=dev)
    cache = load_latent_cache(latents_path, expected_wm_sha256=wm_sha)
    latents = cache.latents.float()
    latent_dim = latents.shape[1]

    with DemoFile(demo_path) as demo:
        if demo.n_frames != latents.shape[0]:
            raise ArtifactError(
                f"latent cache {latents_path} has {latents.shape[0]} rows but {demo_path} has "
                f"{demo.n_frames} frames; rerun cache_latents"
            )
        actions = np.asarray(demo.action, dtype=np.float32)
        ep_offset, ep_len = np.asarray(demo.ep_offset), np.asarray(demo.ep_len)
        train_eps, val_eps = np.asarray(demo.train_episodes), np.asarray(demo.val_episodes)
        train_actions = _train_actions(demo)

    if stage == "wm_ft":
        if init_dir is None:
            raise ValueError("wm_ft needs init_dir (the LARC-Chunk checkpoint folder)")
        policy, stats, _ = load_policy(
            Path(init_dir) / BACKBONE_FILE,
            expected_world_model_sha256=wm_sha,
            expected_latent_dim=latent_dim,
        )
        name = "chunk"
    else:
        name = stage
        stats = ActionStats.from_actions(torch.as_tensor(train_actions))
        policy = make_policy(name, latent_dim=latent_dim, **policy_cfg)
    policy.to(dev)
    k = policy.chunk_len
    frameskip = world_model.cfg.frameskip
    if stage == "wm_ft" and k % frameskip:
        raise ValueError(f"WM-FT needs chunk_len ({k}) to be a multiple of frameskip ({frameskip})")

    def sampler(episodes: np.ndarray) -> HindsightSampler:
        return HindsightSampler(
            latents, actions, ep_offset, ep_len, episodes, k, goal_offset_min, goal_offset_max
        )

    train_sampler, val_sampler = sampler(train_eps), sampler(val_eps)
    bs = int(train_cfg["batch_size"])
    smooth_w = float(train_cfg.get("smooth_weight", 0.0))
    bc_w = float(train_cfg.get("bc_weight", 1.0))
    cons_w = float(train_cfg.get("consistency_weight", 0.0)) if stage == "wm_ft" else 0.0

    def losses_for(batch) -> dict[str, torch.Tensor]:
        z, zg = batch.z.to(dev), batch.z_goal.to(dev)
        target = stats.normalize(batch.actions.to(dev))
        # Horizon policies (GC-IDM) also read the goal offset h = steps left to the goal; the
        # others ignore it, so their computation (and every random draw) is unchanged.
        pred = policy.predict(z, zg, batch.offsets.to(dev))
        out = {"bc": bc_loss(pred, target), "smooth": smoothness_loss(pred)}
        total = bc_w * out["bc"] + smooth_w * out["smooth"]
        if stage == "wm_ft":
            raw = stats.denormalize(pred)
            out["wm"] = rollout_consistency_loss(
                world_model, z, raw, batch.z_future.to(dev), frameskip
            )
            total = total + cons_w * out["wm"]
        out["total"] = total
        return out

    def loss_fn(step: int) -> dict[str, torch.Tensor]:
        return losses_for(train_sampler.sample(bs, seed, step))

    run = {
        "stage": stage, "policy": policy.cfg.to_dict(), "train": train_cfg, "seed": seed,
        "goal": [goal_offset_min, goal_offset_max], "wm": wm_sha, "latents": cache.meta,
        "init": sha256_file(Path(init_dir) / BACKBONE_FILE) if init_dir else None,
    }
    history = run_training(
        policy,
        loss_fn,
        steps=int(train_cfg["steps"]),
        lr=float(train_cfg["lr"]),
        weight_decay=float(train_cfg.get("weight_decay", 0.0)),
        warmup_steps=int(train_cfg.get("warmup_steps", 0)),
        grad_clip=float(train_cfg.get("grad_clip", 1.0)),
        state_path=Path(state_dir) / "last.pt",
        run_hash=config_hash(run),
        checkpoint_every=int(train_cfg.get("checkpoint_every", 500)),
        desc=f"train {stage}",
        progress=progress,
    )

    # Held-out losses on validation episodes (fixed draw) to spot over-fitting.
    with torch.no_grad():
        val_losses = losses_for(val_sampler.sample(1024, seed + 1, 0))
        val = {name: float(v) for name, v in val_losses.items()}
    log.info("%s validation losses: %s", stage, val)
    meta = {
        "stage": stage,
        "world_model_sha256": wm_sha,
        "latent_dim": latent_dim,
        "seed": seed,
        "steps": int(train_cfg["steps"]),
        "final_train": history[-1] if history else {},
        "val": val,
        "goal_offset_range": [goal_offset_min, goal_offset_max],
    }
    policy.cpu()
    atomic_write_text(out_dir / "train_log.jsonl", "".join(json.dumps(r) + "\n" for r in history))
    save_policy(policy, name, stats, out_dir, meta)
    return meta
