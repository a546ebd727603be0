"""A seeded, resumable optimisation loop shared by the policy trainers.

Resumable state (weights, optimiser, scheduler, step, loss history) lives in a state file
outside the rule's declared outputs: Snakemake deletes declared outputs before re-running a
job, so state kept there would be lost. Batches depend only on (seed, step), so a run resumed
from step s continues exactly as an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from larc_core.io import atomic_torch_save
from larc_core.logs import get_logger

log = get_logger("train")


def config_hash(obj: Any) -> str:
    """Stable short hash of a JSON-serialisable config, used to refuse resuming a different run."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def warmup_cosine(step: int, total: int, warmup: int) -> float:
    """LR multiplier: linear warm-up then cosine decay to 10% of the peak."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def run_training(
    model: nn.Module,
    loss_fn: Callable[[int], dict[str, torch.Tensor]],
    *,
    steps: int,
    lr: float,
    weight_decay: float,
    warmup_steps: int,
    grad_clip: float,
    state_path: str | Path,
    run_hash: str,
    checkpoint_every: int,
    desc: str,
    progress: bool = True,
    log_every: int = 50,
) -> list[dict[str, float]]:
    """Optimise ``model`` with AdamW for ``steps`` steps, resuming from ``state_path`` if valid.

    Args:
        loss_fn: maps the step index to a dict of scalar losses; its ``"total"`` is optimised
            and every entry is recorded in the returned history.
        run_hash: identity of the run (config, data, seed); a saved state with another hash is
            ignored so a changed config never resumes stale weights.

    Returns:
        One dict per step: ``step``, ``lr`` and every loss component.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: warmup_cosine(s, steps, warmup_steps)
    )
    history: list[dict[str, float]] = []
    start = 0
    state_path = Path(state_path)
    if state_path.exists():
        try:
            state = torch.load(state_path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a state file cut short by a kill: start over, loudly
            log.warning("ignoring unreadable resume state %s (%s)", state_path, exc)
            state = None
        if state is not None and state.get("run_hash") == run_hash:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["scheduler"])
            start, history = int(state["step"]), list(state["history"])
            torch.set_rng_state(state["torch_rng"])
            log.info("resuming %s from step %d (%s)", desc, start, state_path)
        elif state is not None:
            log.warning("resume state %s belongs to another run; starting fresh", state_path)

    def save_state(step: int) -> None:
        atomic_torch_save(
            {
                "run_hash": run_hash,
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "step": step,
                "history": history,
                "torch_rng": torch.get_rng_state(),
            },
            state_path,
        )

    model.train()
    bar = tqdm(range(start, steps), desc=desc, disable=not progress, initial=start, total=steps)
    for step in bar:
        losses = loss_fn(step)
        opt.zero_grad(set_to_none=True)
        losses["total"].backward()
        if grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, grad_clip)
        opt.step()
        row = {"step": step, "lr": sched.get_last_lr()[0]}
        row.update({k: float(v.detach()) for k, v in losses.items()})
        history.append(row)
        sched.step()
        if step % log_every == 0 or step == steps - 1:
            log.info(
                "%s step %d/%d %s", desc, step + 1, steps,
                " ".join(f"{k}={v:.4g}" for k, v in row.items() if k not in ("step",)),
            )
            bar.set_postfix(total=f"{row['total']:.4g}")
        if (step + 1) % checkpoint_every == 0 and step + 1 < steps:
            save_state(step + 1)
    model.eval()
    return history
