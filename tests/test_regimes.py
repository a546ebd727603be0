"""Another data regime beside the default run: rule regime runs the workflow nested in
runs/<regime>/ with config/<regime>.yaml over the default config."""

from __future__ import annotations

import subprocess

import pytest
from helpers import copy_workflow, planned_jobs, snakemake

from larc_core.io import ArtifactError
from larc_core.regimes import REPORTS, nested_command, prepare_rundir, run_regime


def test_nested_command_puts_targets_before_the_config_files(tmp_path):
    cmd = nested_command("Snakefile", tmp_path / "runs/x", ["config/config.yaml",
                                                           "config/x.yaml"], ["a.md", "b.md"], 3)
    i = cmd.index("--configfile")
    assert cmd[i + 1:] == ["config/config.yaml", "config/x.yaml"]  # it takes every word after it
    assert cmd.index("a.md") < i and cmd[cmd.index("--directory") + 1] == str(tmp_path / "runs/x")
    assert cmd[cmd.index("--cores") + 1] == "3" and "--rerun-incomplete" in cmd
    assert nested_command("S", "r", ["c"], ["t"], 1, dry_run=True)[-1] == "--dry-run"


def test_the_run_folder_links_the_repository_config(tmp_path):
    (tmp_path / "config").mkdir()
    run = prepare_rundir(tmp_path / "runs/x", tmp_path / "config")
    assert (run / "config").resolve() == (tmp_path / "config").resolve()
    assert prepare_rundir(tmp_path / "runs/x", tmp_path / "config") == run  # idempotent
    (tmp_path / "runs/y/config").mkdir(parents=True)
    with pytest.raises(ArtifactError, match="is not a link to"):
        prepare_rundir(tmp_path / "runs/y", tmp_path / "config")


def test_a_regime_without_its_overlay_fails_naming_it(tmp_path):
    with pytest.raises(ArtifactError, match=r"no overlay .*nope\.yaml"):
        run_regime("nope", tmp_path / "config/nope.yaml", "Snakefile", tmp_path / "runs/nope",
                   {}, 1, tmp_path / "log")
    assert not (tmp_path / "runs").exists()


@pytest.mark.e2e
def test_the_state_expert_regime_plans_its_own_run(repo_root, tmp_path):
    """The regime target is one job; the nested run it starts reads the overlay (the state
    expert's data, no CEM rows) and plans a whole run of its own in runs/state_expert/."""
    work = copy_workflow(tmp_path / "w", repo_root)
    res = snakemake(work, "-n", "results/regimes/state_expert/claims.md",
                    configfile="config/config.yaml")
    assert planned_jobs(res.stdout + res.stderr) == {"regime": 1}
    run = prepare_rundir(work / "runs/state_expert", work / "config")
    cmd = nested_command(work / "Snakefile", run, ["config/config.yaml",
                                                   "config/state_expert.yaml"],
                         list(REPORTS), 2, dry_run=True)
    out = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    jobs = planned_jobs(out.stdout + out.stderr)
    assert jobs["collect_demos"] == 1 and jobs["table"] == 1 and jobs["claims"] == 1
    assert "eval_planner" not in jobs  # the overlay's eval.methods replace the default's
    assert not (work / "results/regimes").exists() and not (work / "data").exists()


def test_a_failed_nested_run_names_its_log_and_how_to_unlock(tmp_path, monkeypatch):
    """A real nested Snakemake that fails: the error names the log, the run folder and the
    unlock command, and no report is copied."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config/config.yaml").write_text("a: 1\n")
    (tmp_path / "config/x.yaml").write_text("a: 2\n")
    outputs = "".join(f'        "{r}",\n' for r in REPORTS)
    (tmp_path / "Snakefile").write_text(
        f'configfile: "config/config.yaml"\n\n\nrule fail:\n    output:\n{outputs}'
        '    shell:\n        "test {config[a]} = 2 && exit 3"\n')
    out = {name.rsplit("/", 1)[1]: str(tmp_path / "out" / name.rsplit("/", 1)[1])
           for name in REPORTS}
    with pytest.raises(ArtifactError) as err:
        run_regime("x", "config/x.yaml", "Snakefile", "runs/x", out, 1, tmp_path / "x.log")
    assert "nested run in runs/x failed" in str(err.value) and "--unlock" in str(err.value)
    log = (tmp_path / "x.log").read_text()
    assert "Error in rule fail" in log and "test 2 = 2" in log  # the overlay's a: 2 was read
    assert not (tmp_path / "out").exists()
