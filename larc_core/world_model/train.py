"""Train the world model on a demonstration HDF5 file: seeded, logged and resumable.

Determinism: the batch of step s, the dropout mask and SIGReg's directions depend only on
(seed, s), and the model/optimizer/scheduler state is restored exactly on resume, so an
interrupted-then-resumed CPU run ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ..io import ArtifactError, atomic_path, atomic_torch_save, load_torch_file
from ..logs import get_logger
from ..seeding import seed_everything
from .batches import StepBatchSampler, action_stats, collate_windows, episode_rows, mix_seed
from .checkpoint import as_device, save_world_model
from .config import WorldModelConfig, WorldModelTrainConfig, config_hash
from .model import WorldModel

log = get_logger("world_model.train")

STATE_FORMAT = "larc-world-model-train-state"
#: Train-config fields that do not change the trained weights (excluded from the resume hash).
_HASH_EXCLUDED = ("checkpoint_every", "num_workers", "log_every", "cache_batch_size",
                  "preload_max_gb")


def lr_lambda(warmup_steps: int, total_steps: int):
    """Multiplier on the peak lr: linear warmup to 1, then cosine decay to 0 at ``total_steps``."""

    def fn(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        span = max(1, total_steps - warmup_steps)
        progress = min(1.0, (step - warmup_steps) / span)
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return fn


def _run_hash(model_cfg: WorldModelConfig, train_cfg: WorldModelTrainConfig, seed: int,
              demo_path: Path) -> str:
    train = {k: v for k, v in train_cfg.to_dict().items() if k not in _HASH_EXCLUDED}
    stat = demo_path.stat()
    data = {"demo": str(demo_path.resolve()), "size": stat.st_size}
    return config_hash(model_cfg.to_dict(), train, {"seed": seed}, data)


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _try_resume(state_path: Path, run_hash: str, model: WorldModel,
                opt: torch.optim.Optimizer, sched: torch.optim.lr_scheduler.LRScheduler,
                ) -> tuple[int, list[dict[str, Any]]]:
    """Restore saved training state if compatible; return (start_step, log rows so far)."""
    if not state_path.exists():
        return 0, []
    try:
        state = load_torch_file(state_path, "world-model training state")
    except ArtifactError as exc:
        log.warning("ignoring unreadable training state (%s); starting fresh", exc)
        return 0, []
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        log.warning("ignoring %s: not a world-model training state; starting fresh", state_path)
        return 0, []
    if state.get("config_hash") != run_hash:
        log.warning(
            "training state %s was saved for a different config/seed/data (hash %s..., now "
            "%s...); starting fresh", state_path, str(state.get("config_hash"))[:12], run_hash[:12],
        )
        return 0, []
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    _set_rng_state(state["rng"])
    log.info("resumed world-model training from %s at step %d", state_path, state["step"])
    return int(state["step"]), list(state["log_rows"])


def _save_state(state_path: Path, run_hash: str, step: int, model: WorldModel,
                opt: torch.optim.Optimizer, sched: torch.optim.lr_scheduler.LRScheduler,
                rows: list[dict[str, Any]]) -> None:
    atomic_torch_save({
        "format": STATE_FORMAT, "config_hash": run_hash, "step": step,
        "model": model.state_dict(), "optimizer": opt.state_dict(),
        "scheduler": sched.state_dict(), "rng": _rng_state(), "log_rows": rows,
    }, state_path)


@torch.no_grad()
def evaluate_prediction_loss(model: WorldModel, dataset: Any, batch_size: int,
                             max_windows: int, device: torch.device) -> tuple[float | None, int]:
    """Mean teacher-forced prediction MSE over up to ``max_windows`` evenly spaced windows.

    Returns (loss, windows scored); loss is None for an empty dataset. Runs in eval mode and
    restores the previous mode.
    """
    n = len(dataset)
    if n == 0:
        return None, 0
    idx = np.unique(np.linspace(0, n - 1, min(n, max_windows)).round().astype(np.int64))
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for start in range(0, idx.size, batch_size):
        batch = collate_windows([dataset[int(i)] for i in idx[start:start + batch_size]])
        z = model.encode(batch["frames"])
        pred = model.predict(z[:, :-1], batch["actions"][:, :-1].to(device))
        total += float(((pred - z[:, 1:]) ** 2).mean()) * z.shape[0]
        count += z.shape[0]
    model.train(was_training)
    return total / count, count


def _batches(dataset: Any, sampler: StepBatchSampler, num_workers: int):
    if num_workers == 0:
        for indices in sampler:
            yield collate_windows([dataset[i] for i in indices])
        return
    loader = torch.utils.data.DataLoader(
        dataset, batch_sampler=sampler, num_workers=num_workers, collate_fn=collate_windows,
        persistent_workers=False,
    )
    yield from loader


def train_world_model(model_cfg: WorldModelConfig, train_cfg: WorldModelTrainConfig,
                      demo_path: str | os.PathLike, out_path: str | os.PathLike,
                      state_dir: str | os.PathLike, device: str | torch.device = "cpu",
                      seed: int = 0, log_path: str | os.PathLike | None = None,
                      progress: bool = True, stop_after_step: int | None = None,
                      ) -> dict[str, Any]:
    """Train a :class:`WorldModel` on the train episodes of ``demo_path`` and save it.

    Args:
        model_cfg: architecture; ``image_size`` must equal the file's resolution.
        train_cfg: optimisation settings.
        demo_path: demonstration HDF5 (read with ``larc_core.data.DemoFile``).
        out_path: final checkpoint (written atomically by :func:`save_world_model`).
        state_dir: folder for the resumable ``last.pt`` (keep it outside declared outputs).
        device: ``cpu``, ``cuda``, ``auto`` or a torch device.
        seed: run seed (weights, batch order, dropout, SIGReg directions).
        log_path: per-step JSONL log; default ``<out_dir>/train_log.jsonl``.
        progress: show a tqdm progress bar on stderr.
        stop_after_step: stop once this many steps are done (saving resumable state, writing no
            outputs); for time-boxed runs and tests.

    Returns:
        Summary dict: ``completed``, ``step``, ``resumed_from``, ``val_pred_loss``,
        ``final_train_pred_loss``, ``wall_s``, ``out_path``, ``log_path``.
    """
    from ..data import DemoFile, WindowDataset  # deferred: keeps model-only imports light

    t0 = time.time()
    demo_path, out_path, state_dir = Path(demo_path), Path(out_path), Path(state_dir)
    log_path = Path(log_path) if log_path is not None else out_path.parent / "train_log.jsonl"
    dev = as_device(device)
    num_frames = train_cfg.frames_per_window(model_cfg)
    if num_frames - 1 > model_cfg.history:
        raise ValueError(
            f"train num_frames ({num_frames}) must be <= history + 1 ({model_cfg.history + 1}): "
            "the predictor sees at most `history` input steps"
        )

    demo = DemoFile(demo_path)
    if int(demo.resolution) != model_cfg.image_size:
        raise ValueError(
            f"demo file {demo_path} has resolution {demo.resolution} px but the world-model "
            f"config has image_size {model_cfg.image_size}; make them equal"
        )
    seed_everything(seed)
    model = WorldModel(model_cfg)
    # Each episode's last row holds a zero placeholder (no action leaves it): leave it out.
    rows_idx = episode_rows(np.asarray(demo.ep_offset), np.asarray(demo.ep_len) - 1,
                            demo.train_episodes)
    a_mean, a_std = action_stats(np.asarray(demo.action), rows_idx)
    model.set_action_stats(a_mean, a_std)
    model.to(dev).train()

    opt = torch.optim.AdamW(model.parameters(), lr=train_cfg.lr,
                            weight_decay=train_cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lr_lambda(train_cfg.warmup_steps, train_cfg.steps)
    )
    run_hash = _run_hash(model_cfg, train_cfg, seed, demo_path)
    state_path = state_dir / "last.pt"
    start, rows = _try_resume(state_path, run_hash, model, opt, sched)
    end = train_cfg.steps if stop_after_step is None else min(train_cfg.steps, stop_after_step)

    source = str(demo_path) if train_cfg.num_workers > 0 else demo
    if train_cfg.num_workers == 0 and demo.preload_pixels(int(train_cfg.preload_max_gb * 2**30)):
        log.info("all %d frames of %s read into memory", demo.n_frames, demo_path)
    train_ds = WindowDataset(source, demo.train_episodes, num_frames=num_frames,
                             frameskip=model_cfg.frameskip)
    sampler = StepBatchSampler(len(train_ds), train_cfg.batch_size, seed, start, end)
    log.info("world model: %d params, %d train windows, steps %d..%d of %d on %s",
             sum(p.numel() for p in model.parameters()), len(train_ds), start, end,
             train_cfg.steps, dev)

    bar = tqdm(total=train_cfg.steps, initial=start, disable=not progress, file=sys.stderr,
               desc="world model", dynamic_ncols=True, mininterval=1.0)
    step = start
    for batch in _batches(train_ds, sampler, train_cfg.num_workers):
        t_step = time.time()
        # Per-step seeding: dropout and SIGReg directions depend only on (seed, step).
        torch.manual_seed(mix_seed(seed, step, 1))
        gen = torch.Generator().manual_seed(mix_seed(seed, step, 2))
        losses = model.loss(batch["frames"], batch["actions"], train_cfg.sigreg_weight,
                            train_cfg.sigreg_directions, gen, train_cfg.recon_weight,
                            train_cfg.recon_foreground)
        opt.zero_grad(set_to_none=True)
        losses["total"].backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), train_cfg.grad_clip)
        lr = opt.param_groups[0]["lr"]
        opt.step()
        sched.step()
        step += 1
        row = {"step": step, "lr": lr, "grad_norm": float(grad_norm),
               **{k: float(v.detach()) for k, v in losses.items()}, "time_s": time.time() - t_step}
        rows.append(row)
        bar.update(1)
        bar.set_postfix(pred=f"{row['pred']:.4f}", sigreg=f"{row['sigreg']:.3f}", refresh=False)
        if step % train_cfg.log_every == 0 or step == end:
            log.info("step %d/%d pred %.5f sigreg %.4f total %.5f lr %.2e grad %.3f",
                     step, train_cfg.steps, row["pred"], row["sigreg"], row["total"], lr,
                     row["grad_norm"])
        if step % train_cfg.checkpoint_every == 0 or step == end:
            _save_state(state_path, run_hash, step, model, opt, sched, rows)
    bar.close()

    summary: dict[str, Any] = {"completed": step >= train_cfg.steps, "step": step,
                               "resumed_from": start, "out_path": str(out_path),
                               "log_path": str(log_path)}
    if not summary["completed"]:
        log.info("stopped at step %d (stop_after_step); state saved to %s", step, state_path)
        return summary

    val_ds = WindowDataset(demo, demo.val_episodes, num_frames=num_frames,
                           frameskip=model_cfg.frameskip)
    val_loss, val_n = evaluate_prediction_loss(model, val_ds, train_cfg.batch_size,
                                               train_cfg.val_max_windows, dev)
    tail = rows[-min(50, len(rows)):]
    meta = {
        "seed": seed, "steps": step, "train_config": train_cfg.to_dict(),
        "config_hash": run_hash, "demo_path": str(demo_path), "demo_n_frames": int(demo.n_frames),
        "action_mean": a_mean.tolist(), "action_std": a_std.tolist(),
        "val_pred_loss": val_loss, "val_windows": val_n,
        "final_train_pred_loss": float(np.mean([r["pred"] for r in tail])),
        "final_train_sigreg": float(np.mean([r["sigreg"] for r in tail])),
        "n_params": sum(p.numel() for p in model.parameters()),
        "torch_version": str(torch.__version__), "device": str(dev),
    }
    save_world_model(model, out_path, meta)
    with atomic_path(log_path) as tmp:
        tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary.update(val_pred_loss=val_loss, val_windows=val_n,
                   final_train_pred_loss=meta["final_train_pred_loss"],
                   wall_s=time.time() - t0)
    log.info("world model saved to %s (val pred loss %s on %d windows)", out_path,
             "n/a" if val_loss is None else f"{val_loss:.5f}", val_n)
    return summary
