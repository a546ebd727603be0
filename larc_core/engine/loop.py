"""The one seeded, resumable optimisation loop: world model and policies both train through it.

Resumable state (weights, optimiser, scheduler, step, history, RNG state incl. CUDA) lives in a
state file outside the rule's declared outputs: Snakemake deletes declared outputs before
re-running a job, so state kept there would be lost. Batches depend only on (seed, step), so a
run resumed from step s continues exactly as an uninterrupted run.

The caller keeps its per-step work (batch sampling, loss terms) in ``loss_fn`` and its outputs
(checkpoint, logs) outside the loop; the loop owns AdamW, the warm-up/cosine schedule, gradient
clipping, per-step seeding, the resume state, the progress bar and the periodic log lines.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from larc_core.io import ArtifactError, atomic_torch_save, load_torch_file
from larc_core.logs import get_logger
from larc_core.logs import progress as progress_bar

log = get_logger("train")

STATE_FORMAT = "larc-train-state"
STATE_VERSION = 1
_STATE_KEYS = ("run_hash", "step", "model", "optimizer", "scheduler", "rng", "history")


def config_hash(*parts: Any) -> str:
    """Stable sha256 (hex) of JSON-able parts, used to refuse resuming a different run."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def warmup_cosine(step: int, total: int, warmup: int, floor: float = 0.1) -> float:
    """LR multiplier: linear warm-up to 1, then cosine decay to ``floor`` at ``total``.

    The policies use ``floor=0.1`` (10% of the peak), the world model ``floor=0.0``.
    """
    if warmup and step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


@dataclass(frozen=True)
class StepResult:
    """What one optimiser step produced (passed to ``run_training``'s ``record`` hook)."""

    step: int
    """0-based index of the step just taken."""
    lr: float
    """Learning rate the step used."""
    grad_norm: torch.Tensor | None
    """Total gradient norm before clipping (None when ``grad_clip`` <= 0)."""
    losses: dict[str, float]
    """Every loss component of ``loss_fn``, as floats."""
    seconds: float
    """Wall time of the step (loss, backward, update)."""


def default_record(r: StepResult) -> dict[str, Any]:
    """History row of the policies: 0-based ``step``, ``lr`` and the loss components."""
    return {"step": r.step, "lr": r.lr, **r.losses}


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda")
    if cuda is not None and torch.cuda.is_available():
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
        else:
            log.warning("resume state holds %d CUDA RNG states but %d GPUs are visible; CUDA "
                        "RNG not restored", len(cuda), torch.cuda.device_count())


def _load_state(state_path: Path, run_hash: str) -> dict[str, Any] | None:
    """The saved state if it belongs to this run, else None (with a warning saying why)."""
    if not state_path.exists():
        return None
    try:
        state = load_torch_file(state_path, "training state")
    except ArtifactError as exc:  # a state file cut short by a kill: start over, loudly
        log.warning("ignoring unreadable training state (%s); starting fresh", exc)
        return None
    if (not isinstance(state, dict) or state.get("format") != STATE_FORMAT
            or state.get("version") != STATE_VERSION
            or any(k not in state for k in _STATE_KEYS)):
        log.warning("ignoring %s: not a %s v%d training state (an older larc-core wrote it?); "
                    "starting fresh", state_path, STATE_FORMAT, STATE_VERSION)
        return None
    if state["run_hash"] != run_hash:
        log.warning("training state %s was saved for a different config/seed/data (hash %s..., "
                    "now %s...); starting fresh", state_path, str(state["run_hash"])[:12],
                    run_hash[:12])
        return None
    return state


def _validate(model: nn.Module, validate: Callable[[], dict[str, float]]) -> dict[str, float]:
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices), torch.no_grad():
        model.eval()
        try:
            return validate()
        finally:
            model.train()


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
    lr_floor: float = 0.1,
    step_seed: Callable[[int], int] | None = None,
    stop_after_step: int | None = None,
    save_final_state: bool = False,
    record: Callable[[StepResult], dict[str, Any]] = default_record,
    on_start: Callable[[int], None] | None = None,
    postfix_keys: Sequence[str] = ("total",),
    validate: Callable[[], dict[str, float]] | None = None,
    val_every: int = 0,
) -> list[dict[str, Any]]:
    """Optimise ``model`` with AdamW for ``steps`` steps, resuming from ``state_path`` if valid.

    Args:
        loss_fn: maps the 0-based step index to a dict of scalar losses; its ``"total"`` is
            optimised and every entry is recorded.
        run_hash: identity of the run (config, data, seed; see :func:`config_hash`); a saved
            state with another hash is ignored so a changed config never resumes stale weights.
        lr_floor: the schedule's final multiplier of the peak ``lr`` (:func:`warmup_cosine`).
        step_seed: when given, ``torch.manual_seed(step_seed(step))`` runs before each
            ``loss_fn(step)``, so dropout and other torch draws depend only on the step.
        stop_after_step: stop once this many steps are done, saving the resume state.
        save_final_state: also save the resume state after the last of ``steps``.
        record: builds the history row of a step (default: ``step``, ``lr``, losses).
        on_start: called with the step training starts from (0 or the resumed step) before
            the first ``loss_fn`` call, e.g. to build a batch iterator from that step.
        postfix_keys: row entries shown on the progress bar.
        validate: held-out losses of the model (a fixed draw of validation examples), run
            every ``val_every`` steps and after the last one, in eval mode, without gradients
            and on a forked RNG (so training draws the same numbers with or without it); each
            entry is recorded as ``val_<name>`` in that step's history row and logged.

    Returns:
        The history: one ``record`` row per step from step 0, including resumed ones.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: warmup_cosine(s, steps, warmup_steps, lr_floor)
    )
    history: list[dict[str, Any]] = []
    start = 0
    state_path = Path(state_path)
    state = _load_state(state_path, run_hash)
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        start, history = int(state["step"]), list(state["history"])
        _set_rng_state(state["rng"])
        log.info("resuming %s from step %d (%s)", desc, start, state_path)
    end = steps if stop_after_step is None else min(steps, stop_after_step)

    def save_state(step: int) -> None:
        atomic_torch_save({
            "format": STATE_FORMAT, "version": STATE_VERSION, "run_hash": run_hash,
            "step": step, "model": model.state_dict(), "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(), "rng": _rng_state(), "history": history,
        }, state_path)

    if on_start is not None:
        on_start(start)
    model.train()
    bar = progress_bar(total=steps, initial=start, desc=desc, unit="step", disable=not progress)
    for step in range(start, end):
        t_step = time.time()
        if step_seed is not None:
            torch.manual_seed(step_seed(step))
        losses = loss_fn(step)
        opt.zero_grad(set_to_none=True)
        losses["total"].backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(params, grad_clip) if grad_clip > 0 else None
        step_lr = sched.get_last_lr()[0]
        opt.step()
        sched.step()
        row = record(StepResult(step=step, lr=step_lr, grad_norm=grad_norm,
                                losses={k: float(v.detach()) for k, v in losses.items()},
                                seconds=time.time() - t_step))
        done = step + 1
        if validate is not None and ((val_every > 0 and done % val_every == 0) or done == steps):
            row.update({f"val_{k}": float(v) for k, v in _validate(model, validate).items()})
        history.append(row)
        bar.update(1)
        bar.set_postfix({k: f"{row[k]:.4g}" for k in postfix_keys if k in row}, refresh=False)
        if step == start or done % log_every == 0 or done == end \
                or any(k.startswith("val_") for k in row):
            log.info("%s step %d/%d %s", desc, done, steps, " ".join(
                f"{k}={v:.4g}" for k, v in row.items()
                if k != "step" and isinstance(v, int | float)))
        if ((done % checkpoint_every == 0 and done < steps) or (done == end < steps)
                or (done == steps and save_final_state)):
            save_state(done)
    bar.close()
    model.eval()
    return history
