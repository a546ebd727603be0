"""Train the world model on a demonstration HDF5 file: seeded, logged and resumable.

Determinism: the batch of step s, the dropout mask and SIGReg's directions depend only on
(seed, s), and the model/optimizer/scheduler state is restored exactly on resume, so an
interrupted-then-resumed CPU run ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..engine.loop import StepResult, config_hash, run_training
from ..io import atomic_path
from ..logs import get_logger
from ..seeding import seed_everything
from .batches import StepBatchSampler, action_stats, collate_windows, episode_rows, mix_seed
from .checkpoint import as_device, save_world_model
from .config import WorldModelConfig, WorldModelTrainConfig
from .model import WorldModel

log = get_logger("world_model.train")

#: Train-config fields that do not change the trained weights (excluded from the resume hash).
_HASH_EXCLUDED = ("checkpoint_every", "num_workers", "log_every", "cache_batch_size",
                  "preload_max_gb", "val_every", "val_max_windows")


def _run_hash(model_cfg: WorldModelConfig, train_cfg: WorldModelTrainConfig, seed: int,
              demo: Any) -> str:
    """Identity of a training run: settings, seed, the demonstrations' content and which of
    their episodes train (a new ``data.val_fraction`` keeps the episodes but moves the split,
    and a finished state must not be reused for it)."""
    train = {k: v for k, v in train_cfg.to_dict().items() if k not in _HASH_EXCLUDED}
    split = hashlib.sha256(np.asarray(demo.train_episodes, dtype=np.int64).tobytes()).hexdigest()
    data = {"demo": demo.fingerprint, "train_episodes": split}
    return config_hash(model_cfg.to_dict(), train, {"seed": seed}, data)


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
        h = min(z.shape[1] - 1, model.cfg.history)
        pred = model.predict(z[:, :h], batch["actions"][:, :h].to(device))
        total += float(((pred - z[:, 1:h + 1]) ** 2).mean()) * z.shape[0]
        count += z.shape[0]
    model.train(was_training)
    return total / count, count


def _batches(dataset: Any, sampler: StepBatchSampler, num_workers: int) -> Iterator[Any]:
    """Collated batches in sampler order. A DataLoader iterator is created here, at once: it
    draws its base seed from torch's global RNG, which must happen before any per-step seed."""
    if num_workers == 0:
        return (collate_windows([dataset[i] for i in indices]) for indices in sampler)
    loader = torch.utils.data.DataLoader(
        dataset, batch_sampler=sampler, num_workers=num_workers, collate_fn=collate_windows,
        persistent_workers=False,
    )
    return iter(loader)


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
        progress: show progress on stderr (larc_core.logs.progress).
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

    with DemoFile(demo_path) as demo:  # closed however training ends
        if int(demo.resolution) != model_cfg.image_size:
            raise ValueError(
                f"demo file {demo_path} has resolution {demo.resolution} px but the "
                f"world-model config has image_size {model_cfg.image_size}; make them equal"
            )
        seed_everything(seed)
        model = WorldModel(model_cfg)
        # Each episode's last row holds a zero placeholder (no action leaves it): leave it out.
        rows_idx = episode_rows(np.asarray(demo.ep_offset), np.asarray(demo.ep_len) - 1,
                                demo.train_episodes)
        a_mean, a_std = action_stats(np.asarray(demo.action), rows_idx)
        model.set_action_stats(a_mean, a_std)
        model.to(dev).train()

        run_hash = _run_hash(model_cfg, train_cfg, seed, demo)
        state_path = state_dir / "last.pt"
        end = train_cfg.steps if stop_after_step is None else min(train_cfg.steps,
                                                                  stop_after_step)
        source = str(demo_path) if train_cfg.num_workers > 0 else demo
        if (train_cfg.num_workers == 0
                and demo.preload_pixels(int(train_cfg.preload_max_gb * 2**30))):
            log.info("all %d frames of %s read into memory", demo.n_frames, demo_path)
        train_ds = WindowDataset(source, demo.train_episodes, num_frames=num_frames,
                                 frameskip=model_cfg.frameskip)
        val_ds = WindowDataset(demo, demo.val_episodes, num_frames=num_frames,
                               frameskip=model_cfg.frameskip)
        run: dict[str, Any] = {}

        def validate() -> dict[str, float]:
            """Held-out teacher-forced prediction loss (the train rows' ``pred``)."""
            loss, _ = evaluate_prediction_loss(model, val_ds, train_cfg.batch_size,
                                               train_cfg.val_max_windows, dev)
            return {} if loss is None else {"pred": loss}

        def on_start(start: int) -> None:
            run["start"] = start
            sampler = StepBatchSampler(len(train_ds), train_cfg.batch_size, seed, start, end)
            run["batches"] = _batches(train_ds, sampler, train_cfg.num_workers)
            log.info("world model: %d params, %d train windows, steps %d..%d of %d on %s",
                     sum(p.numel() for p in model.parameters()), len(train_ds), start, end,
                     train_cfg.steps, dev)

        def loss_fn(step: int) -> dict[str, torch.Tensor]:
            batch = next(run["batches"])
            # SIGReg's directions depend only on (seed, step); the loop seeds dropout per step.
            gen = torch.Generator().manual_seed(mix_seed(seed, step, 2))
            return model.loss(batch["frames"], batch["actions"], train_cfg.sigreg_weight,
                              train_cfg.sigreg_directions, gen, train_cfg.recon_weight,
                              train_cfg.recon_foreground, train_cfg.rollout_steps,
                              train_cfg.rollout_weight)

        def record(r: StepResult) -> dict[str, Any]:
            return {"step": r.step + 1, "lr": r.lr, "grad_norm": float(r.grad_norm), **r.losses,
                    "time_s": r.seconds}

        rows = run_training(
            model, loss_fn, steps=train_cfg.steps, lr=train_cfg.lr,
            weight_decay=train_cfg.weight_decay, warmup_steps=train_cfg.warmup_steps,
            grad_clip=train_cfg.grad_clip, state_path=state_path, run_hash=run_hash,
            checkpoint_every=train_cfg.checkpoint_every, desc="world model", progress=progress,
            log_every=train_cfg.log_every, lr_floor=0.0,
            step_seed=lambda step: mix_seed(seed, step, 1), stop_after_step=stop_after_step,
            save_final_state=True, record=record, on_start=on_start,
            postfix_keys=("pred", "sigreg"), validate=validate, val_every=train_cfg.val_every,
        )
        start, step = run["start"], len(rows)

        summary: dict[str, Any] = {"completed": step >= train_cfg.steps, "step": step,
                                   "resumed_from": start, "out_path": str(out_path),
                                   "log_path": str(log_path)}
        if not summary["completed"]:
            log.info("stopped at step %d (stop_after_step); state saved to %s", step,
                     state_path)
            return summary

        val_loss, val_n = evaluate_prediction_loss(model, val_ds, train_cfg.batch_size,
                                                   train_cfg.val_max_windows, dev)
        tail = rows[-min(50, len(rows)):]
        meta = {
            "seed": seed, "steps": step, "train_config": train_cfg.to_dict(),
            "config_hash": run_hash, "demo_path": str(demo_path),
            "demo_n_frames": int(demo.n_frames),
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
