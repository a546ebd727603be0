"""Packaging: pyproject and environment.yml agree; the CLI has one subcommand per stage."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import yaml

STAGES = [
    "link-artifacts", "collect-demos", "train-world-model", "cache-latents", "train-idm",
    "train-chunk", "train-wm-ft", "train-gc-idm", "import-world-model", "eval-pairs", "eval",
    "table", "figures", "world-model-health", "latency", "training-curves", "runtime", "dvc-yaml",
]


def _norm(req: str) -> str:
    return req.replace(" ", "").lower()


def test_environment_yml_matches_pyproject(repo_root):
    deps = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((repo_root / "environment.yml").read_text())
    pip_list = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    conda_side = {_norm(r) for r in pip_list if not r.startswith("-e")}
    assert conda_side == {_norm(r) for r in deps}
    assert "torch==2.13.0" in conda_side and "gym-pusht==0.1.8" in conda_side


def test_cli_help_for_every_stage():
    out = subprocess.run(
        [sys.executable, "-m", "larc_core.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for stage in STAGES:
        assert stage in out
        sub = subprocess.run(
            [sys.executable, "-m", "larc_core.cli", stage, "--help"],
            capture_output=True, text=True, check=True,
        ).stdout
        assert "--config" in sub


def test_cli_reports_bad_config(tmp_path, repo_root):
    cfg = yaml.safe_load((repo_root / "config" / "smoke.yaml").read_text())
    cfg["eval"]["n_episodes"] = -1
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(cfg))
    res = subprocess.run(
        [sys.executable, "-m", "larc_core.cli", "validate-config", "--config", str(p)],
        capture_output=True, text=True,
    )
    assert res.returncode == 2
    assert "eval.n_episodes" in res.stderr
