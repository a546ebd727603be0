"""Helpers shared by the test modules (fixtures live in conftest.py): a workflow copy, a real
Snakemake run on it, and the job counts of a dry run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SMOKE_CONFIG = "config/smoke.yaml"


def copy_workflow(dest: Path, repo: Path = REPO) -> Path:
    """The files a user's clone runs the workflow from (Snakefile, workflow/, config/,
    environment.yml) copied to ``dest``; returns ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "workflow", "config", "environment.yml"):
        src = repo / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dest / name)
    return dest


REGISTRY_ANCHOR = "        # Planner baseline on the same frozen world model"
"""The line of ``larc_core/methods.py`` a test inserts its registry line before."""


def extend_package(dest: Path, folder: str, files: dict[str, str], registry_line: str) -> dict:
    """A copy of the package and workflow in ``dest`` with a new folder ``larc_core/<folder>``
    holding ``files`` and ``registry_line`` added to ``larc_core/methods.py`` (checked to be the
    only change there); returns the environment that imports that copy."""
    import difflib
    import os

    copy_workflow(dest)
    shutil.copytree(REPO / "larc_core", dest / "larc_core",
                    ignore=shutil.ignore_patterns("__pycache__"))
    target = dest / "larc_core" / folder
    target.mkdir()
    for name, text in files.items():
        (target / name).write_text(text)
    registry = dest / "larc_core/methods.py"
    before = registry.read_text()
    assert before.count(REGISTRY_ANCHOR) == 1
    after = before.replace(REGISTRY_ANCHOR, registry_line.rstrip("\n") + "\n" + REGISTRY_ANCHOR)
    registry.write_text(after)
    changed = [d for d in difflib.unified_diff(before.splitlines(), after.splitlines(), n=0)
               if d[:1] in "+-" and not d.startswith(("+++", "---"))]
    assert changed == ["+" + registry_line.rstrip("\n")], changed
    return {**os.environ, "PYTHONPATH": str(dest)}


def larc_cli(cwd: Path, env: dict | None = None):
    """``cli(*args) -> stdout``: the ``larc`` command line run in ``cwd`` (asserting success)."""
    def cli(*args: str) -> str:
        res = subprocess.run([sys.executable, "-m", "larc_core.cli", *args], cwd=cwd, env=env,
                             capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, res.stderr[-3000:]
        return res.stdout
    return cli


def reuse_smoke_inputs(work: Path, dest: Path) -> None:
    """The smoke run's data, world model, latents and pairs copied into ``dest`` with their time
    stamps (Snakemake takes them as built); none of its trained policies."""
    for rel in ("data", "checkpoints/world_model", "results/eval", "artifacts"):
        shutil.copytree(work / rel, dest / rel, ignore=shutil.ignore_patterns("larc_*", "gc_*"))


def snakemake(workdir: Path, *args: str, check: bool = True, configfile: str = SMOKE_CONFIG,
              env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real Snakemake on ``workdir`` with ``configfile``; on failure (with ``check``)
    raise with its output and the tail of every rule log."""
    # --configfile takes several values: keep it last so targets are not swallowed.
    cmd = [sys.executable, "-m", "snakemake", *args, "--configfile", configfile]
    # The whole smoke run is about 50 jobs of 10-20 CPU seconds each (mostly importing torch),
    # about 8 min on 2 cores: a generous limit, so only a hang fails here.
    res = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=2700, env=env)
    if check and res.returncode != 0:
        logs = "\n".join(
            f"--- {p}\n{p.read_text()[-3000:]}" for p in sorted((workdir / "logs").rglob("*.log"))
        ) if (workdir / "logs").exists() else ""
        raise AssertionError(f"{cmd} failed:\n{res.stdout[-4000:]}\n{res.stderr[-6000:]}\n{logs}")
    return res


def planned_jobs(dry_run_output: str) -> dict[str, int]:
    """Job counts from the 'Job stats' table of a dry run ({} when nothing is to be done)."""
    jobs, in_stats = {}, False
    for line in dry_run_output.splitlines():
        if line.startswith("Job stats"):
            in_stats = True
            continue
        if in_stats:
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                if parts[0] == "total":
                    break
                jobs[parts[0]] = int(parts[1])
    return jobs


def build_tiny_latent_cache(root: Path) -> object:
    """Four short expert episodes at 32 px (``demos.h5``), a random tiny world model
    (``wm.pt``) and its latent cache (``latents.pt``) under ``root``; returns the model config."""
    import torch

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
