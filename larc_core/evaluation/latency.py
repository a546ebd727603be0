"""Wall-clock latency of one decision: policy forward (or one CEM plan) and a full control step.

A *decision* is what a method computes each time it chooses actions: one policy forward for the
LARC policies (it yields ``execute_chunk_size`` env steps of actions), one CEM plan for the
planner (it yields ``receding * frameskip`` env steps). The time per env step divides a decision
by the env steps it yields; :func:`benchmark_controller` also measures that amortised cost
directly, by running the controller's own ``act`` loop on rendered frames.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from larc_core.data import DemoFile
from larc_core.envs import PushTEnv
from larc_core.evaluation.build import build_controller, torch_threads
from larc_core.evaluation.pairs import load_pairs
from larc_core.logs import progress as progress_bar


def time_calls(fn: Callable[[], object], warmup: int, calls: int) -> dict[str, float]:
    """Median, mean and p95 (milliseconds) of ``calls`` timed calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = np.empty(calls)
    for i in range(calls):
        t0 = time.perf_counter()
        fn()
        times[i] = time.perf_counter() - t0
    ms = times * 1e3
    return {
        "median_ms": float(np.median(ms)),
        "mean_ms": float(ms.mean()),
        "p95_ms": float(np.percentile(ms, 95)),
        "calls": calls,
    }


def is_planner(controller: Any) -> bool:
    """True for controllers that plan with the world model (they have a ``planner``)."""
    return hasattr(controller, "planner")


def env_steps_per_decision(controller: Any) -> int:
    """Env steps executed from one decision of ``controller``."""
    if is_planner(controller):
        return int(controller.env_steps_per_decision)
    return int(controller.execute)


def decision_functions(
    controller: Any, frame: np.ndarray
) -> tuple[Callable[[], object], Callable[[np.ndarray], object]]:
    """``(decide, decide_from_frame)`` for a controller already ``reset`` toward a goal.

    ``decide()`` is the decision alone on the latent of ``frame`` (policy forward, or one CEM
    plan from a one-latent history); ``decide_from_frame(f)`` encodes ``f`` first.
    """
    z = controller.encode(frame)
    if is_planner(controller):
        planner, gen = controller.planner, controller.generator
        return (
            lambda: planner.plan(z, controller.z_goal, generator=gen),
            lambda f: planner.plan(controller.encode(f), controller.z_goal, generator=gen),
        )
    return (
        lambda: controller.policy_forward(z),
        lambda f: controller.policy_forward(controller.encode(f)),
    )


def machine() -> dict[str, Any]:
    """Where a timing was taken: torch threads and the CPU."""
    return {
        "torch_threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
    }


def decision_latency(
    controller: Any, env: PushTEnv, pair: dict, goal_frame: np.ndarray, warmup: int,
    calls: int, device: torch.device | str = "cpu",
) -> dict[str, Any]:
    """Batch-1 decision and control step (encode + decision) on the pair's real start frame.

    ``policy_forward`` holds the decision (for a planner: one whole plan), ``control_step`` the
    frame encoding plus the decision; ``env_steps_per_decision`` converts both to per env step.
    """
    env.reset_to_state(np.asarray(pair["start_state"]))
    controller.reset(goal_frame, int(pair["start_row"]))
    frame = env.render()
    decide, from_frame = decision_functions(controller, frame)
    return {
        "policy_forward": time_calls(decide, warmup, calls),
        "control_step": time_calls(lambda: from_frame(frame), warmup, calls),
        "env_steps_per_decision": env_steps_per_decision(controller),
        "device": str(device),
        **machine(),
    }


def benchmark_controller(
    controller: Any, env: PushTEnv, pair: dict, goal_frame: np.ndarray, warmup: int,
    calls: int, periods: int,
) -> dict[str, Any]:
    """Latency benchmark of one method (the ``latency`` rule).

    - ``decision``: the decision alone (policy forward / one plan), ``warmup`` + ``calls``;
    - ``control_step``: render the env frame, encode it, decide (same counts);
    - ``per_env_step``: the controller's closed-loop ``act`` on freshly rendered frames, timed
      per whole decision period (``env_steps_per_decision`` calls: one decision and the steps
      it yields) over ``periods`` periods after one warm-up period, each divided by its env
      steps: the amortised controller cost per env step (render, encodes, decisions and queue
      handling; the physics step is excluded). Median and p95 are over periods, so a
      descheduled period on a busy machine does not dominate.
    """
    env.reset_to_state(np.asarray(pair["start_state"]))
    controller.reset(goal_frame, int(pair["start_row"]))
    frame = env.render()
    decide, from_frame = decision_functions(controller, frame)
    out: dict[str, Any] = {
        "decision": time_calls(decide, warmup, calls),
        "control_step": time_calls(lambda: from_frame(env.render()), warmup, calls),
    }
    steps = env_steps_per_decision(controller)
    controller.reset(goal_frame, int(pair["start_row"]))

    def period() -> None:
        for _ in range(steps):
            controller.act(env.render())

    per_period = time_calls(period, 1, periods)
    loop = {k: per_period[k] / steps for k in ("median_ms", "mean_ms", "p95_ms")}
    loop.update(calls=periods, env_steps=periods * steps)
    out.update(per_env_step=loop, env_steps_per_decision=steps, **machine())
    return out


def load_state() -> dict[str, float]:
    """1-, 5- and 15-minute load averages (a busy machine inflates every timing)."""
    one, five, fifteen = os.getloadavg()
    return {"load_1min": one, "load_5min": five, "load_15min": fifteen}


def benchmark_specs(
    specs: dict[str, Any],
    pair: dict[str, Any],
    goal_frame: np.ndarray,
    resolution: int,
    warmup: int,
    calls: int,
    plan_warmup: int,
    plan_calls: int,
    progress: bool = True,
) -> dict[str, Any]:
    """Time every method of ``specs`` (method key -> ``ControllerSpec``) in this process with one
    torch thread, from ``pair``'s start state (``start_state``, ``start_row``) toward
    ``goal_frame`` (H, W, 3).

    Policies: ``warmup`` + ``calls`` decisions and control steps, ``calls`` closed-loop env steps.
    Planners: ``plan_warmup`` + ``plan_calls`` plans each, ``plan_calls`` decision periods.
    """
    out: dict[str, Any] = {
        "start_row": int(pair["start_row"]), "cpu_count": os.cpu_count(),
        "load_before": load_state(), "methods": {},
    }
    with torch_threads(1), PushTEnv(resolution=resolution) as env:
        for key, spec in progress_bar(specs.items(), total=len(specs), desc="latency",
                                      unit="method", disable=not progress):
            controller, _ = build_controller(spec)
            planner = is_planner(controller)
            w, c = (plan_warmup, plan_calls) if planner else (warmup, calls)
            t0 = time.perf_counter()
            res = benchmark_controller(controller, env, pair, goal_frame, w, c, periods=c)
            res.update(kind="planner" if planner else "policy", wall_s=time.perf_counter() - t0)
            out["methods"][key] = res
        out["machine"] = machine()
    out["load_after"] = load_state()
    return out


def benchmark_methods(
    specs: dict[str, Any],
    demo_path: str | Path,
    pairs_path: str | Path,
    warmup: int,
    calls: int,
    plan_warmup: int,
    plan_calls: int,
    progress: bool = True,
) -> dict[str, Any]:
    """:func:`benchmark_specs` on the first pair of ``pairs_path``: its recorded start state and
    goal image (the frame every method decides on)."""
    pair = load_pairs(pairs_path, demo_path)["pairs"][0]
    with DemoFile(demo_path) as demo:
        goal_frame = demo.frames(np.array([pair["goal_row"]]))[0]
        resolution = demo.resolution
    out = benchmark_specs(specs, pair, goal_frame, resolution, warmup, calls, plan_warmup,
                          plan_calls, progress)
    return {"pairs_file": str(pairs_path), "goal_row": int(pair["goal_row"]), **out}
