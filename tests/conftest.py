"""Shared fixtures, session-scoped where they build something (helpers in helpers.py). Tests run
on the CPU with few threads so two-core machines stay responsive."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from helpers import REPO, build_tiny_latent_cache, copy_workflow, snakemake

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
torch.set_num_threads(2)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture()
def smoke_config() -> dict:
    from larc_core.config import load_config

    return load_config(REPO / "config" / "smoke.yaml", base=REPO / "config" / "config.yaml")


@pytest.fixture(scope="session")
def demo_file(tmp_path_factory) -> Path:
    """Six state-expert episodes of 60-70 steps at 32 px, half of them validation episodes: the
    demonstration file of every module that needs one and builds nothing from it in place.
    Read only."""
    from larc_core.data import collect_demos

    path = tmp_path_factory.mktemp("demo_file") / "demos.h5"
    collect_demos(path, n_episodes=6, min_len=60, max_len=70, resolution=32, seed=1, workers=1,
                  val_fraction=0.5, progress=False)
    return path


@pytest.fixture(scope="session")
def tiny_latents(tmp_path_factory) -> tuple[Path, object]:
    """One tiny demo file, random world model and latent cache for every module that trains or
    evaluates a policy: (folder with demos.h5, wm.pt and latents.pt; the model config). Read
    only: copy a file before changing it."""
    root = tmp_path_factory.mktemp("tiny_latents")
    return root, build_tiny_latent_cache(root)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> tuple[Path, str]:
    """The real workflow's default target on config/smoke.yaml, run once per session in a copy
    of the workflow: (its folder, the dry run's output before it ran). Read only: tests that
    change files work on a copy."""
    work = copy_workflow(tmp_path_factory.mktemp("wf"))
    dry = snakemake(work, "-n")
    snakemake(work, "--cores", "2")
    return work, dry.stdout + dry.stderr
