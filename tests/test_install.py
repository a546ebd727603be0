"""Packaging: pyproject and environment.yml agree; the CLI has one subcommand per stage."""

from __future__ import annotations

import re
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


def test_cli_version_help_and_clean_errors():
    from larc_core import __version__
    from larc_core.cli import _parser

    def run(*args):
        return subprocess.run([sys.executable, "-m", "larc_core.cli", *args],
                              capture_output=True, text=True)

    assert run("--version").stdout.strip() == f"larc {__version__}"
    res = run("eval", "--method", "nosuch", "--offset", "25")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "invalid choice: 'nosuch'" in res.stderr and "larc_chunk_wm_ft" in res.stderr
    # Every option of every subcommand says what it is.
    sub = next(a for a in _parser()._actions if a.dest == "command")
    for name, sp in sub.choices.items():
        for action in sp._actions:
            assert action.help, f"larc {name} {action.option_strings or action.dest}: no help"


def test_cli_set_overrides_are_validated(tmp_path, repo_root):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "larc_core.cli", "validate-config",
                               "--config", str(repo_root / "config/smoke.yaml"), *args],
                              capture_output=True, text=True)

    assert run("--set", "eval.n_episodes=10", "--set", "eval.offsets=[25]").returncode == 0
    res = run("--set", "eval.n_episodes=0")
    assert res.returncode == 2 and "eval.n_episodes: 0 is less than the minimum of 1" in res.stderr
    res = run("--set", "evl.n_episodes=3")
    assert res.returncode == 2 and "--set 'evl.n_episodes=3': evl is not a section" in res.stderr
    res = run("--set", "eval.n_episodes")
    assert res.returncode == 2 and "expected KEY.PATH=VALUE" in res.stderr
    from larc_core.config import apply_overrides

    cfg = apply_overrides({"eval": {"n_episodes": 5}, "device": "cpu"},
                          ["eval.n_episodes=7", "device=cuda", "eval.offsets=[25, 50]"])
    assert cfg == {"eval": {"n_episodes": 7, "offsets": [25, 50]}, "device": "cuda"}
    # A section the schema defines but the file leaves to its defaults can be set too.
    assert apply_overrides({}, ["latency.warmup=3"]) == {"latency": {"warmup": 3}}


# Import name -> distribution name, where they differ.
DIST_OF = {"PIL": "pillow", "cv2": "opencv-python", "yaml": "pyyaml", "gym_pusht": "gym-pusht",
           "imageio_ffmpeg": "imageio-ffmpeg"}


def test_every_imported_package_is_declared(repo_root):
    """Every third-party package the code imports is a dependency (or an optional extra)."""
    import ast

    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    declared = {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower() for r in project["dependencies"]}
    declared |= {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower()
                 for extra in project["optional-dependencies"].values() for r in extra}
    files = [*(repo_root / "larc_core").rglob("*.py"), *(repo_root / "workflow/scripts").glob("*.py")]
    imported = set()
    for f in files:
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = {m for m in imported if m not in sys.stdlib_module_names and m != "larc_core"}
    missing = {m for m in third_party if DIST_OF.get(m, m).lower() not in declared}
    assert not missing, f"imported but not declared in pyproject.toml: {sorted(missing)}"
