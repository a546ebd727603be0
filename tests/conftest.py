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


def build_tiny_latent_cache(root: Path) -> object:
    """Four short expert episodes at 32 px (``demos.h5``), a random tiny world model
    (``wm.pt``) and its latent cache (``latents.pt``) under ``root``; returns the model config."""
    from larc_core.data import collect_demos
    from larc_core.world_model import (
        WorldModel,
        WorldModelConfig,
        build_latent_cache,
        save_world_model,
    )

    collect_demos(root / "demos.h5", n_episodes=4, min_len=40, max_len=45, resolution=32, seed=3,
                  workers=1, val_fraction=0.5, progress=False)
    torch.manual_seed(0)
    cfg = WorldModelConfig(image_size=32, cnn_channels=(8, 16), latent_dim=16,
                           projector_hidden=32, action_embed_hidden=16, depth=1, heads=2,
                           head_dim=8, mlp_dim=32)
    save_world_model(WorldModel(cfg).eval(), root / "wm.pt", {})
    build_latent_cache(root / "demos.h5", root / "wm.pt", root / "latents.pt", progress=False)
    return cfg
