"""Cluster execution profiles (workflow/profiles/{slurm,kubernetes}/profile.yaml).

Static checks always run; the dry runs need the executor plugins (`pip install -e ".[cluster]"`)
and are skipped without them. A dry run needs no cluster: Snakemake plans the jobs with its
dry-run executor after loading the plugin and parsing its settings.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from larc_core.methods import STAGES

REPO = Path(__file__).resolve().parents[1]
PROFILES = REPO / "workflow" / "profiles"
# The GPU jobs: the world model, the latents and every policy stage of the method registry.
GPU_RULES = ["train_world_model", "cache_latents", *(s.rule for s in STAGES.values())]
STAGE_RULES = {s.rule for s in STAGES.values()}


RULE_RE = re.compile(r"^\s*rule (\w+):", re.MULTILINE)


def workflow_rules() -> dict[str, str]:
    """Rule name -> the text of its definition, from workflow/rules/*.smk, whatever the config
    (rules defined only when an artifact is linked included); the training rules, one per stage
    of the method registry, share the loop in policies.smk."""
    rules: dict[str, str] = {}
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        text = smk.read_text()
        starts = list(RULE_RE.finditer(text))
        for i, m in enumerate(starts):
            end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
            rules[m.group(1)] = text[m.start() : end]
    loop = (REPO / "workflow" / "rules" / "policies.smk").read_text()
    assert "name:\n            _stage.rule" in loop, "policies.smk no longer loops over STAGES"
    rules.update({stage.rule: loop for stage in STAGES.values()})
    return rules


def load_profile(name: str) -> dict:
    return yaml.safe_load((PROFILES / name / "profile.yaml").read_text())


@pytest.fixture(scope="module")
def rules() -> dict[str, str]:
    found = workflow_rules()
    assert set(GPU_RULES) <= set(found), "a GPU rule is missing from the workflow"
    return found


@pytest.mark.parametrize("name, executor", [("slurm", "slurm"), ("kubernetes", "kubernetes")])
def test_profile_parses(name, executor, rules):
    prof = load_profile(name)
    assert prof["executor"] == executor
    assert int(prof["jobs"]) > 0 and int(prof["latency-wait"]) >= 30
    assert prof["rerun-incomplete"] is True
    for key in ("set-resources", "set-threads"):
        unknown = set(prof.get(key) or {}) - set(rules)
        assert not unknown, f"{name}/{key} names rules the workflow does not have: {unknown}"
    # Every rule gets explicit resources, so a new rule shows up here instead of silently
    # running with the defaults; the training rules of the stage loop declare theirs in the
    # loop (a new stage needs no profile entry; an entry overrides them).
    missing = set(rules) - set(prof["set-resources"]) - STAGE_RULES
    assert not missing, f"{name}: rules without set-resources: {missing}"


def test_the_stage_loop_declares_cluster_resources():
    loop = (REPO / "workflow" / "rules" / "policies.smk").read_text()
    block = loop[loop.index("resources:"):loop.index("log:")]
    for key in ("mem_mb=", "runtime=", '"gpu": GPU', '"gpu_manufacturer": "nvidia"'):
        assert key in block, f"the training rules' loop declares no {key}"


def test_slurm_resources(rules):
    """The GPU follows config `device` (the rules declare it), never the profile: a CPU
    cluster runs the profile unedited (tests/test_slurm.py), a GPU run gets --gpus=1."""
    prof = load_profile("slurm")
    res = prof["set-resources"]
    for rule in (r for r in rules if r in res):
        assert int(res[rule]["runtime"]) > 0 and int(res[rule]["mem_mb"]) > 0, rule
        assert not res[rule].get("gpu") and "gpu" not in str(res[rule].get("gres", "")), rule
    for rule in (r for r in GPU_RULES if r in rules):
        assert re.search(r"gpu\W*[:=]\W*GPU", rules[rule]), f"{rule} declares no GPU"
    # Policy trainings keep the rules' one thread (reproducible against a local run).
    assert not set(prof.get("set-threads") or {}) & STAGE_RULES


def test_kubernetes_resources(rules):
    prof = load_profile("kubernetes")
    assert prof["default-storage-provider"] and prof["default-storage-prefix"]
    assert prof["container-image"]
    res = prof["set-resources"]
    for rule in (r for r in GPU_RULES if r in res):
        assert int(res[rule].get("gpu", 0)) >= 1, f"{rule} requests no GPU"
        # nvidia -> nvidia.com/gpu; scale 0 -> limits are written (required for GPUs).
        assert res[rule].get("gpu_manufacturer") == "nvidia", rule
        assert res[rule].get("scale") == 0, rule
    # The plugin refuses a job that has any `gpu` resource (even gpu=0) without a manufacturer.
    for rule, body in rules.items():
        if re.search(r"^\s*gpu\s*=", body, re.MULTILINE):
            assert res.get(rule, {}).get("gpu_manufacturer"), f"{rule} declares gpu"


def copy_workflow(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "workflow", "config", "environment.yml"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dest / name)
    return dest


def dry_run(workdir: Path, *args: str) -> str:
    cmd = [sys.executable, "-m", "snakemake", *args, "-n", "results/table.md"]
    # Generous: a dry run takes seconds, but a busy machine is slow; only a hang should fail.
    res = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=600)
    out = res.stdout + res.stderr
    assert res.returncode == 0, f"{cmd} failed:\n{out[-6000:]}"
    return out


def job_resources(out: str, rule: str) -> str:
    m = re.search(rf"^rule {rule}:\n(?:    .*\n)*?    resources: (.*)$", out, re.MULTILINE)
    assert m, f"no job of {rule} in the dry run"
    return m.group(1)


def test_slurm_dry_run(tmp_path):
    pytest.importorskip("snakemake_executor_plugin_slurm")
    work = copy_workflow(tmp_path)
    out = dry_run(work, "--profile", "workflow/profiles/slurm")
    assert "train_world_model" in out
    for rule in ("train_world_model", "cache_latents", "train_chunk"):  # device: cpu
        assert not re.search(r"\bgpu=[1-9]", job_resources(out, rule)), rule
    assert "runtime=240" in job_resources(out, "train_world_model")
    cuda = dry_run(work, "--profile", "workflow/profiles/slurm", "--config", "device=cuda")
    for rule in ("train_world_model", "cache_latents", "train_chunk"):
        assert re.search(r"\bgpu=1\b", job_resources(cuda, rule)), rule


def test_kubernetes_dry_run(tmp_path):
    pytest.importorskip("snakemake_executor_plugin_kubernetes")
    pytest.importorskip("snakemake_storage_plugin_fs")
    work = copy_workflow(tmp_path / "wf")
    # Keep the storage prefix inside tmp_path so the test does not look at /mnt/larc.
    out = dry_run(
        work,
        "--profile",
        "workflow/profiles/kubernetes",
        "--default-storage-prefix",
        str(tmp_path / "store"),
    )
    assert "train_world_model" in out
    profiled = load_profile("kubernetes")["set-resources"]
    for rule in (r for r in GPU_RULES if r in profiled):
        res = job_resources(out, rule)
        assert re.search(r"\bgpu=1\b", res) and "gpu_manufacturer=nvidia" in res, rule
