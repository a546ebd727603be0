"""The cluster profile on a real scheduler: a single-node Slurm 22.05 cluster on localhost
(tests/slurm/setup.sh: munged, MariaDB + slurmdbd, slurmctld, slurmd; the packages come from
tests/slurm/install.sh, which CI runs) executes smoke-run jobs through
workflow/profiles/slurm and snakemake-executor-plugin-slurm, unedited. Every job must be a Slurm
job in the scheduler's accounting, its outputs equal to the local smoke run's, and a job the
scheduler cancels is resubmitted (the profile's `retries`) and leaves no half-written output.

Needs root and the Slurm packages: skipped without them, except where LARC_REQUIRE_SLURM=1
(.ci/run sets it after installing them), where their absence fails."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch
from helpers import REPO, copy_workflow, reuse_smoke_inputs

from larc_core.policies.checkpoint import load_policy

SLURM = REPO / "tests" / "slurm"
PROFILE = ["--profile", "workflow/profiles/slurm"]
# The plugin waits 40 s before its first status check; after a check that finds no job finished
# it waits 10 s longer than before (checks at t, 2t + 10, 3t + 30 ... with t the first wait),
# and after one that does, t again. The test's jobs take 8-15 s: t = 3 catches them at the
# second check, 16 s in, where t = 1 (12 s in) mostly left them to the third, 33 s in.
POLLING = ["--slurm-init-seconds-before-status-checks", "3",
           "--seconds-between-status-checks", "1"]
IDM = "checkpoints/larc_idm_backbone_latent/seed{seed}/shared_policy_backbone.pt"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def slurm_cluster():
    """A running single-node cluster (stopped and deleted afterwards): its environment."""
    if shutil.which("slurmctld") is None or os.geteuid() != 0:
        if os.environ.get("LARC_REQUIRE_SLURM") == "1":
            pytest.fail("LARC_REQUIRE_SLURM=1 but Slurm is not installed or not root: run "
                        "tests/slurm/install.sh as root")
        pytest.skip("needs root and Slurm's packages (tests/slurm/install.sh)")
    # Not under pytest's tmp folder: it is 0700, and MariaDB runs as the mysql user.
    base = Path(tempfile.mkdtemp(prefix="larc-slurm-"))
    base.chmod(0o755)
    # Four CPUs on the node: the test's three small jobs run side by side (the eval asks for two).
    env = {**os.environ, "BASE": str(base), "NODE_CPUS": "4"}
    setup = subprocess.run(["bash", str(SLURM / "setup.sh")], env=env, capture_output=True,
                           text=True, timeout=300)
    try:
        assert setup.returncode == 0, f"setup.sh failed:\n{setup.stdout}\n{setup.stderr}"
        yield {**os.environ, "SLURM_CONF": f"{base}/etc/slurm.conf"}
    finally:
        subprocess.run(["bash", str(SLURM / "teardown.sh")], env={**env, "PURGE": "1"},
                       capture_output=True, text=True, timeout=180)


def _snakemake(workdir: Path, env: dict, *args: str, timeout: int = 600,
               on_running=None) -> str:
    """Snakemake through the slurm profile in its own process group (killed whole on a
    timeout: a hung status loop must not outlive the test); ``on_running(proc)`` is called
    while it runs. Returns its output; fails the test on a non-zero exit."""
    cmd = [sys.executable, "-m", "snakemake", *PROFILE, *POLLING, *args]
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        if on_running is not None:
            on_running(proc)
        out, _ = proc.communicate(timeout=timeout)
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    assert proc.returncode == 0, f"{cmd} failed:\n{out[-6000:]}"
    return out


def _accounting(job_id: str, env: dict) -> dict[str, str]:
    """sacct's record of one job (allocation line): id, name, state, comment."""
    for _ in range(50):  # slurmdbd may lag the end of a job by a moment
        row = subprocess.run(["sacct", "-n", "-X", "-P", "-j", job_id,
                              "-o", "JobID,JobName,State,Comment"],
                             env=env, capture_output=True, text=True, check=True).stdout.strip()
        if row and not row.split("|")[2].startswith(("PENDING", "RUNNING")):
            break
        time.sleep(0.2)
    jid, name, state, comment = row.split("|", 3)
    return {"id": jid, "name": name, "state": state.split()[0], "comment": comment}


def _submitted(out: str) -> list[str]:
    return re.findall(r"submitted with SLURM jobid (\d+)", out)


def test_smoke_jobs_run_as_slurm_jobs_match_the_local_run_and_survive_scancel(
        smoke_run, slurm_cluster, tmp_path):
    """One run through the profile: a policy training and its evaluation of the smoke run, and
    a latent action model trained longer, which `scancel` kills mid-training. Every job is a
    Slurm job under the run's name in the scheduler's accounting; the training and evaluation
    are COMPLETED with weights and episodes equal to the local smoke run's; the cancelled job is
    CANCELLED, resubmitted (the profile's `retries: 1`) and COMPLETED from its saved state, and
    its model never sits half-written at its final path."""
    work, _ = smoke_run
    run = copy_workflow(tmp_path / "wf")
    reuse_smoke_inputs(work, run)
    (run / "config/slurm_long.yaml").write_text(
        "lam: {steps: 2000, checkpoint_every: 250, val_every: 250}\n")
    evaluation = "results/eval/larc_idm/seed0_h25.json"
    lam = "checkpoints/latent_action_model/seed1/latent_action_model.pt"
    lam_log = run / "logs/train_lam/seed1.log"
    cancelled: list[str] = []

    def cancel_while_training(proc: subprocess.Popen) -> None:
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None:
            queue = subprocess.run(["squeue", "-h", "-t", "R", "-o", "%i %k"], env=slurm_cluster,
                                   capture_output=True, text=True).stdout.splitlines()
            job = next((line.split()[0] for line in queue if "rule_train_lam" in line), None)
            if job and lam_log.exists() and "step 500/" in lam_log.read_text():
                assert not (run / lam).exists()  # nothing at the final path mid-training
                subprocess.run(["scancel", job], env=slurm_cluster, check=True)
                cancelled.append(job)
                return
            time.sleep(0.2)
        raise AssertionError("the latent action model never trained long enough to cancel:\n"
                             + (lam_log.read_text() if lam_log.exists() else "no log"))

    out = _snakemake(run, slurm_cluster, IDM.format(seed=0), evaluation, lam, "--configfile",
                     "config/smoke.yaml", "config/slurm_long.yaml",
                     on_running=cancel_while_training)
    run_name = re.search(r"SLURM run ID: (\S+)", out).group(1)
    records = [_accounting(i, slurm_cluster) for i in _submitted(out)]
    # The plugin's comment: rule_<rule>[_wildcards_<values>].
    by_rule: dict[str, list[dict]] = {}
    for r in records:
        rule = re.match(r"rule_(.+?)(?:_wildcards_.*)?$", r["comment"]).group(1)
        by_rule.setdefault(rule, []).append(r)
    assert all(r["name"] == run_name for r in records), records
    assert [r["state"] for r in by_rule["train_idm"]] == ["COMPLETED"], records
    assert [r["state"] for r in by_rule["eval"]] == ["COMPLETED"], records
    assert [r["state"] for r in by_rule["train_lam"]] == ["CANCELLED", "COMPLETED"], records
    assert by_rule["train_lam"][0]["id"] == cancelled[0]

    ours, local = load_policy(run / IDM.format(seed=0))[0], load_policy(
        work / IDM.format(seed=0))[0]
    for (name, a), (_, b) in zip(ours.state_dict().items(), local.state_dict().items(),
                                 strict=True):
        assert torch.equal(a, b), name

    def episodes(root: Path) -> list[tuple]:
        doc = json.loads((root / evaluation).read_text())
        return [(e["start_row"], e["goal_row"], e["success"], e["steps"], e["final_state"])
                for e in doc["episodes"]]

    assert episodes(run) == episodes(work)
    saved = torch.load(run / lam, weights_only=False)
    assert saved["meta"]["seed"] == 1 and saved["meta"]["steps"] == 2000
    assert "resum" in lam_log.read_text().lower()  # the second job went on from the saved state
    assert not [p for p in (run / lam).parent.iterdir() if ".tmp" in p.name]
