"""Wall-clock latency of one decision: policy forward alone and a full control step."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


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
