"""World-model health report on held-out (validation) episodes.

Three checks of a frozen world model against its own latent cache:

1. next-latent prediction: teacher-forced ``predict`` over history windows vs the copy-the-last-
   latent baseline (z_{t+1} = z_t);
2. multi-step rollout: ``rollout`` from a single start latent with the recorded action blocks,
   error at each block k = 1..K vs the copy baseline (z_{r+k*fs} = z_r);
3. linear probes: ridge regression from latents to block x/y, sin/cos of the block angle and
   agent x/y, fitted on training-episode rows and scored (R^2) on validation rows.

Targets are always the cached latents (the frozen encoder's outputs), so no pixels are decoded;
the cache must have been built by exactly this checkpoint (sha256 check).

This module measures (:func:`measure_health`); the report, the figure and the files are
written by :func:`larc_core.reporting.world_model.world_model_health`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..io import ArtifactError
from ..logs import get_logger
from ..logs import progress as progress_bar
from .batches import episode_rows
from .checkpoint import load_world_model, world_model_fingerprint
from .latent_cache import load_latent_cache
from .model import WorldModel

log = get_logger("world_model.health")

FORMAT = "larc-world-model-health"
VERSION = 1

#: Rows of training episodes the probe is fitted on (seeded subsample above this).
PROBE_MAX_TRAIN_ROWS = 250_000
#: Validation rows the probe is scored on (seeded subsample above this).
PROBE_MAX_VAL_ROWS = 50_000
#: Ridge strength relative to the row count (standardised inputs: Gram diagonal ~ n).
RIDGE_LAMBDA = 1e-3
#: R^2 the positional probes must reach.
POSITIONAL_R2_TARGET = 0.9
#: Optimisation steps of the MLP probe.
MLP_PROBE_STEPS = 12000
#: Hidden width (two layers) and batch of the MLP probe.
MLP_PROBE_WIDTH = 256
MLP_PROBE_BATCH = 512
#: R^2 each probe target must reach (ridge or MLP) for the latents to carry the state the
#: success test reads (issue 14): the block pose, its angle, the agent.
PROBE_R2_TARGETS = {"block_x": 0.95, "block_y": 0.95, "sin_theta": 0.90, "cos_theta": 0.90,
                    "agent_x": 0.98, "agent_y": 0.98}
#: Probe targets: name -> how to read it from the (N, 7) state [ax, ay, bx, by, theta, vx, vy].
PROBE_TARGETS = ("block_x", "block_y", "sin_theta", "cos_theta", "agent_x", "agent_y")
POSITIONAL_TARGETS = ("block_x", "block_y", "agent_x", "agent_y")
#: Windows per forward pass: bounds memory; fixed so results do not depend on the caller.
_BATCH = 256


# ------------------------------------------------------------------------------ sampling
def _starts(ep_offset: np.ndarray, ep_len: np.ndarray, episodes: np.ndarray,
            span: int) -> np.ndarray:
    """(M,) int64 rows r of ``episodes`` with r .. r+span-1 inside one episode."""
    parts = [np.arange(ep_offset[e], ep_offset[e] + ep_len[e] - span + 1, dtype=np.int64)
             for e in episodes if ep_len[e] >= span]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _subsample(rows: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``cap`` of ``rows`` drawn without replacement, returned sorted (deterministic)."""
    if rows.size <= cap:
        return rows
    return np.sort(rng.choice(rows, size=cap, replace=False))


def _action_blocks(actions: torch.Tensor, starts: np.ndarray, n_blocks: int,
                   frameskip: int) -> torch.Tensor:
    """Raw action blocks ``(M, n_blocks, frameskip * 2)``.

    Block t of start r = actions at rows r+t*fs .. r+(t+1)*fs-1 flattened in time order
    (the layout of :class:`larc_core.data.WindowDataset`).
    """
    rows = torch.as_tensor(starts)[:, None] + torch.arange(n_blocks * frameskip)[None, :]
    return actions[rows].reshape(len(starts), n_blocks, frameskip * actions.shape[1])


def _mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-sample MSE over the last dim: ``(..., D), (..., D) -> (...)`` in float64."""
    return ((a.double() - b.double()) ** 2).mean(dim=-1)


# ---------------------------------------------------------------------------- measures
@torch.no_grad()
def prediction_error(model: WorldModel, latents: torch.Tensor, actions: torch.Tensor,
                     starts: np.ndarray, progress: bool = False) -> dict[str, Any]:
    """Teacher-forced next-latent error over history windows vs the copy baseline.

    Args:
        model: frozen world model (H = ``cfg.history``, fs = ``cfg.frameskip``).
        latents: cached latents ``(N, D)``.
        actions: raw actions ``(N, 2)``.
        starts: ``(M,)`` window start rows; rows r .. r+H*fs lie in one episode.

    Returns:
        ``model_mse`` / ``copy_mse`` (mean over windows, positions and dims), their ``ratio``,
        and the same per predicted position t = 1..H (``*_per_position``).
    """
    h, fs = model.cfg.history, model.cfg.frameskip
    offs = torch.arange(h + 1) * fs
    model_err, copy_err = [], []
    for i in progress_bar(range(0, len(starts), _BATCH), disable=not progress,
                          desc="health: predict"):
        s = starts[i:i + _BATCH]
        z = latents[torch.as_tensor(s)[:, None] + offs[None, :]]  # (B, H+1, D)
        a = _action_blocks(actions, s, h, fs)  # (B, H, A)
        pred = model.predict(z[:, :-1].to(model.device), a.to(model.device)).cpu()
        model_err.append(_mse(pred, z[:, 1:]))  # (B, H)
        copy_err.append(_mse(z[:, :-1], z[:, 1:]))
    m, c = torch.cat(model_err), torch.cat(copy_err)
    model_mse, copy_mse = float(m.mean()), float(c.mean())
    return {
        "n_windows": int(len(starts)), "num_frames": h + 1,
        "model_mse": model_mse, "copy_mse": copy_mse, "ratio": _ratio(model_mse, copy_mse),
        "model_mse_per_position": m.mean(0).tolist(), "copy_mse_per_position": c.mean(0).tolist(),
    }


@torch.no_grad()
def rollout_error(model: WorldModel, latents: torch.Tensor, actions: torch.Tensor,
                  starts: np.ndarray, n_blocks: int, progress: bool = False
                  ) -> list[dict[str, Any]]:
    """Open-loop rollout error per horizon k = 1..n_blocks from a single start latent.

    Args:
        latents: cached latents ``(N, D)``; actions: raw ``(N, 2)``.
        starts: ``(M,)`` start rows r; rows r .. r+n_blocks*fs lie in one episode.

    Returns:
        One row per k: ``k``, ``env_steps`` (k*fs), ``model_mse`` (rollout step k vs the cached
        latent at r+k*fs), ``copy_mse`` (z_r vs that latent) and ``ratio``.
    """
    fs = model.cfg.frameskip
    offs = torch.arange(1, n_blocks + 1) * fs
    model_err, copy_err = [], []
    for i in progress_bar(range(0, len(starts), _BATCH), disable=not progress,
                          desc="health: rollout"):
        s = starts[i:i + _BATCH]
        idx = torch.as_tensor(s)
        z0 = latents[idx]  # (B, D)
        target = latents[idx[:, None] + offs[None, :]]  # (B, K, D)
        a = _action_blocks(actions, s, n_blocks, fs)  # (B, K, A)
        pred = model.rollout(z0[:, None].to(model.device), a.to(model.device)).cpu()
        model_err.append(_mse(pred, target))  # (B, K)
        copy_err.append(_mse(z0[:, None].expand_as(target), target))
    m, c = torch.cat(model_err).mean(0).tolist(), torch.cat(copy_err).mean(0).tolist()
    return [{"k": k + 1, "env_steps": (k + 1) * fs, "model_mse": m[k], "copy_mse": c[k],
             "ratio": _ratio(m[k], c[k])} for k in range(n_blocks)]


def probe_targets(state: np.ndarray) -> np.ndarray:
    """``(N, 7)`` state -> ``(N, 6)`` float64 probe targets in :data:`PROBE_TARGETS` order."""
    st = np.asarray(state, dtype=np.float64)
    theta = st[:, 4]
    return np.stack([st[:, 2], st[:, 3], np.sin(theta), np.cos(theta), st[:, 0], st[:, 1]], 1)


def ridge_probe_r2(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray,
                   y_val: np.ndarray, lam: float = RIDGE_LAMBDA) -> np.ndarray:
    """Closed-form ridge regression with intercept on standardised inputs; R^2 per target.

    Args:
        x_train: ``(n, D)``; y_train: ``(n, P)``; x_val: ``(m, D)``; y_val: ``(m, P)``.
        lam: ridge strength per training row (penalty = lam * n * ||W||^2), so it means the
            same thing whatever the subsample size.

    Returns:
        ``(P,)`` R^2 = 1 - SS_res / SS_tot on the validation rows (NaN where SS_tot = 0).
    """
    x_train, x_val = np.asarray(x_train, np.float64), np.asarray(x_val, np.float64)
    y_train, y_val = np.asarray(y_train, np.float64), np.asarray(y_val, np.float64)
    mu, sd = x_train.mean(0), x_train.std(0)
    sd = np.where(sd > 1e-8, sd, 1.0)  # constant latent dims: leave them at 0 after centring
    xt, xv = (x_train - mu) / sd, (x_val - mu) / sd
    y_mu = y_train.mean(0)  # centred inputs and targets: the intercept is y_mu, unpenalised
    n, d = xt.shape
    w = np.linalg.solve(xt.T @ xt + lam * n * np.eye(d), xt.T @ (y_train - y_mu))
    resid = y_val - (xv @ w + y_mu)
    ss_res = (resid ** 2).sum(0)
    ss_tot = ((y_val - y_val.mean(0)) ** 2).sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, np.nan)


def mlp_probe_r2(x: np.ndarray, y: np.ndarray, train: np.ndarray, val: np.ndarray,
                 steps: int = MLP_PROBE_STEPS, seed: int = 0) -> np.ndarray:
    """R^2 per target of a 2 x 256 GELU MLP (Adam 1e-3, batch 512) on standardised inputs and
    targets, fitted on rows ``train`` of ``x`` (N, D) / ``y`` (N, P), scored on rows ``val``.

    A nonlinear read-out: a latent may hold the block's angle in a form no linear map reads.
    """
    gen = torch.Generator().manual_seed(seed)
    xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    tr = torch.as_tensor(np.asarray(train, dtype=np.int64))
    va = torch.as_tensor(np.asarray(val, dtype=np.int64))
    xt = (xt - xt[tr].mean(0)) / (xt[tr].std(0) + 1e-6)
    yt = (yt - yt[tr].mean(0)) / (yt[tr].std(0) + 1e-12)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        w = MLP_PROBE_WIDTH
        net = torch.nn.Sequential(
            torch.nn.Linear(xt.shape[1], w), torch.nn.GELU(), torch.nn.Linear(w, w),
            torch.nn.GELU(), torch.nn.Linear(w, yt.shape[1]))
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    for _ in range(steps):
        i = tr[torch.randint(len(tr), (MLP_PROBE_BATCH,), generator=gen)]
        loss = ((net(xt[i]) - yt[i]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        pred, true = net(xt[va]), yt[va]
        ss_tot = ((true - true.mean(0)) ** 2).sum(0)
        r2 = 1 - ((pred - true) ** 2).sum(0) / ss_tot
    return np.where(ss_tot.numpy() > 0, r2.numpy().astype(np.float64), np.nan)


# ------------------------------------------------------------------------------ helpers
def _ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 else None


def _finite_or_none(x: Any) -> Any:
    """Recursively replace NaN/inf floats by None: the JSON stays standard."""
    if isinstance(x, dict):
        return {k: _finite_or_none(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_finite_or_none(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


# ---------------------------------------------------------------------------------- main
def measure_health(demo_path: str | os.PathLike, world_model_path: str | os.PathLike,
                   latents_path: str | os.PathLike, *, max_windows: int = 512,
                   rollout_blocks: int = 10, seed: int = 0, progress: bool = True,
                   device: str | torch.device = "cpu",
                   probe_steps: int = MLP_PROBE_STEPS) -> dict[str, Any]:
    """Measure prediction, rollout and probe health of a world model on validation episodes.

    The numbers only: :func:`larc_core.reporting.world_model.world_model_health` writes them
    with the report and the figure.

    Args:
        demo_path: LeWM-layout demo file (its train/validation split is used).
        world_model_path: checkpoint; latents_path: its latent cache (must match by sha256).
        max_windows: cap on prediction windows and on rollout starts (seeded subsample).
        rollout_blocks: K, rollout horizon in action blocks.
        seed: drives every subsample; same inputs + seed give the same numbers.
        progress: progress on stderr (larc_core.logs.progress).
        device: ``cpu``, ``cuda``, ``auto`` or a torch device for the model's predictions.
        probe_steps: optimiser steps of the MLP probe (fewer only to test the report itself).

    Returns:
        The results (``format``, ``version``, ``provenance``, ``prediction``, ``rollout``,
        ``probe``), NaN/inf replaced by None so they serialise as standard JSON.

    Raises:
        ArtifactError: the cache was built by another world model, or for another demo file
            (naming the file and both values).
        ValueError: bad arguments, or validation episodes too short for one window.
    """
    from ..data import DemoFile  # deferred, as in latent_cache: keeps model imports light

    if max_windows < 1 or rollout_blocks < 1:
        raise ValueError(f"max_windows and rollout_blocks must be >= 1, got {max_windows}, "
                         f"{rollout_blocks}")
    demo_path, world_model_path = Path(demo_path), Path(world_model_path)
    latents_path = Path(latents_path)
    sha = world_model_fingerprint(world_model_path)
    model = load_world_model(world_model_path, device=device)
    cfg = model.cfg
    with DemoFile(demo_path) as demo:
        n_frames = demo.n_frames
        cache = load_latent_cache(latents_path, expected_wm_sha256=sha,
                                  expected_latent_dim=cfg.latent_dim,
                                  expected_n_frames=n_frames, demo=demo,
                                  world_model_path=world_model_path)
        actions = torch.as_tensor(np.asarray(demo.action, dtype=np.float32))
        state = np.asarray(demo.state)
        ep_offset, ep_len = demo.ep_offset, demo.ep_len.astype(np.int64)
        val_eps, train_eps = demo.val_episodes, demo.train_episodes
    latents = cache.latents
    if actions.shape[1] != cfg.action_dim:
        raise ArtifactError(f"demo file {demo_path} has {actions.shape[1]}-d actions but world "
                            f"model {world_model_path} expects action_dim {cfg.action_dim}")
    if val_eps.size == 0 or train_eps.size == 0:
        raise ValueError(f"demo file {demo_path} needs both training and validation episodes "
                         f"(has {train_eps.size} / {val_eps.size})")
    fs, h = cfg.frameskip, cfg.history
    # Independent streams per measurement: changing one cap does not move the others' samples.
    rng_pred, rng_roll, rng_train, rng_val = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4))

    pred_starts = _starts(ep_offset, ep_len, val_eps, h * fs + 1)
    roll_starts = _starts(ep_offset, ep_len, val_eps, rollout_blocks * fs + 1)
    for what, starts, span in (("prediction window", pred_starts, h * fs + 1),
                               ("rollout start", roll_starts, rollout_blocks * fs + 1)):
        if starts.size == 0:
            raise ValueError(
                f"no {what} fits in the validation episodes of {demo_path} (needs {span} rows; "
                f"longest validation episode has {int(ep_len[val_eps].max())})"
            )
    pred_starts = _subsample(pred_starts, max_windows, rng_pred)
    roll_starts = _subsample(roll_starts, max_windows, rng_roll)

    log.info("health: %d prediction windows, %d rollout starts (K=%d)", len(pred_starts),
             len(roll_starts), rollout_blocks)
    prediction = prediction_error(model, latents, actions, pred_starts, progress)
    rollout_rows = rollout_error(model, latents, actions, roll_starts, rollout_blocks, progress)

    train_rows = episode_rows(ep_offset, ep_len, train_eps)
    train_rows = _subsample(train_rows, PROBE_MAX_TRAIN_ROWS, rng_train)
    val_rows = episode_rows(ep_offset, ep_len, val_eps)
    val_rows = _subsample(val_rows, PROBE_MAX_VAL_ROWS, rng_val)
    # Scale of the latents, to read the MSEs against (on the capped validation rows).
    prediction["latent_var"] = float(latents[torch.as_tensor(val_rows)].double().var(0).mean())
    y = probe_targets(state)
    r2 = ridge_probe_r2(latents[torch.as_tensor(train_rows)].numpy(), y[train_rows],
                        latents[torch.as_tensor(val_rows)].numpy(), y[val_rows])
    r2_by_name = {name: float(v) for name, v in zip(PROBE_TARGETS, r2, strict=True)}
    pos = [r2_by_name[n] for n in POSITIONAL_TARGETS]
    pos_min = min(pos) if all(math.isfinite(v) for v in pos) else float("nan")
    log.info("health: ridge probe R^2 %s; fitting the MLP probe (%d steps)",
             " / ".join(f"{v:.3f}" for v in r2), probe_steps)
    mlp = mlp_probe_r2(latents.numpy(), y, train_rows, val_rows, steps=probe_steps, seed=seed)
    mlp_by_name = {name: float(v) for name, v in zip(PROBE_TARGETS, mlp, strict=True)}
    best = {n: float(np.fmax(r2_by_name[n], mlp_by_name[n])) for n in PROBE_TARGETS}
    targets_met = {n: bool(math.isfinite(best[n]) and best[n] >= PROBE_R2_TARGETS[n])
                   for n in PROBE_TARGETS}

    res: dict[str, Any] = {
        "format": FORMAT, "version": VERSION,
        "provenance": {
            "world_model_sha256": sha, "world_model_path": str(world_model_path),
            "latents_path": str(latents_path), "demo_path": str(demo_path), "seed": int(seed),
            "max_windows": int(max_windows), "rollout_blocks": int(rollout_blocks),
            "frameskip": fs, "history": h, "latent_dim": cfg.latent_dim,
            "n_val_episodes": int(val_eps.size), "n_train_episodes": int(train_eps.size),
            "split": "validation episodes (probe fitted on training episodes)",
        },
        "prediction": prediction,
        "rollout": {"n_starts": int(len(roll_starts)), "rows": rollout_rows},
        "probe": {
            "targets": list(PROBE_TARGETS), "r2": r2_by_name, "lambda": RIDGE_LAMBDA,
            "n_train_rows": int(len(train_rows)), "n_val_rows": int(len(val_rows)),
            "positional_targets": list(POSITIONAL_TARGETS), "positional_r2_min": pos_min,
            "target": POSITIONAL_R2_TARGET,
            "target_met": bool(math.isfinite(pos_min) and pos_min >= POSITIONAL_R2_TARGET),
            "mlp_r2": mlp_by_name, "mlp": "2 x 256 GELU, Adam 1e-3, batch 512, "
            f"{probe_steps} steps, standardised inputs and targets",
            "r2_targets": PROBE_R2_TARGETS, "r2_targets_met": targets_met,
            "all_r2_targets_met": all(targets_met.values()),
        },
    }
    res = _finite_or_none(res)
    log.info("health: predict ratio %s, rollout k=%d ratio %s, probe targets %s (best R^2 %s)",
             _fmt3(res["prediction"]["ratio"]), rollout_blocks,
             _fmt3(res["rollout"]["rows"][-1]["ratio"]),
             "met" if res["probe"]["all_r2_targets_met"] else "NOT met",
             " / ".join(f"{best[n]:.3f}" for n in PROBE_TARGETS))
    return res


def _fmt3(x: float | None) -> str:
    """Three decimals, or ``n/a`` (for the log)."""
    return "n/a" if x is None else f"{x:.3f}"
