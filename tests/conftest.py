"""Shared fixtures. Tests run on the CPU with few threads so two-core machines stay responsive."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
torch.set_num_threads(2)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture()
def smoke_config() -> dict:
    from larc_core.config import load_config

    return load_config(REPO / "config" / "smoke.yaml")
