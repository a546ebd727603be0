"""Seed every random number generator the workflow touches (cleanrl style)."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int, deterministic: bool = True) -> np.random.Generator:
    """Seed Python, NumPy and torch; optionally force deterministic torch kernels.

    Returns a fresh ``numpy.random.Generator`` for callers that want an explicit stream.
    """
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    # CPU kernels are deterministic already; forcing the flag on CPU-only runs costs ~8 s of
    # imports per process for nothing, so it is only set when CUDA is in use.
    if deterministic and torch.cuda.is_available():
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    return np.random.default_rng(seed)


def resolve_device(name: str) -> torch.device:
    """Map a config device value (``cpu``, ``cuda``, ``auto``) to a ``torch.device``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("config device is 'cuda' but torch sees no CUDA device; use 'cpu' or 'auto'")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device must be one of cpu, cuda, auto; got {name!r}")
    return torch.device(name)
