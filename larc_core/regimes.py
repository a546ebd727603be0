"""Another data regime's table and claims beside the default run's.

A regime is an overlay of the default config (``config/<regime>.yaml``: only the keys it
changes). Its run needs its own data, checkpoints and results, so it runs as a nested
Snakemake in ``runs/<regime>/`` (the same Snakefile, ``--directory`` there, the default config
and the overlay as config files, by absolute path) and only its reports are copied into
``results/regimes/<regime>/``: the default run's files are never touched. The outer rule reruns
when the config or the overlay changes (its inputs), not when code changes (then force it:
``--forcerun regime``); the nested run then reruns only what it finds stale, and picks up a job
an interruption left half-done (``--rerun-incomplete``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from larc_core.io import ArtifactError, atomic_path
from larc_core.logs import get_logger

log = get_logger("regimes")

#: Reports of the nested run copied into ``results/regimes/<regime>/`` (the file name is kept).
REPORTS = ("results/table.md", "results/claims.md", "results/claims.json", "results/data.md")


def nested_command(snakefile: str | Path, rundir: str | Path, configfiles: list[str],
                   targets: list[str], cores: int, dry_run: bool = False) -> list[str]:
    """The nested Snakemake command line: targets first (``--configfile`` takes every word
    after it), the config files as given (pass absolute paths: Snakemake resolves them before
    it changes into ``--directory``)."""
    cmd = [sys.executable, "-m", "snakemake", *targets, "-s", str(Path(snakefile).resolve()),
           "--directory", str(rundir), "--cores", str(cores), "--rerun-incomplete",
           "--configfile", *configfiles]
    return cmd + (["--dry-run"] if dry_run else [])


def prepare_rundir(rundir: str | Path, config_dir: str | Path) -> Path:
    """Create ``rundir`` with ``config`` linked to the repository's config folder (the
    Snakefile's ``configfile: "config/config.yaml"`` is read relative to ``rundir``)."""
    rundir, config_dir = Path(rundir), Path(config_dir).resolve()
    rundir.mkdir(parents=True, exist_ok=True)
    link = rundir / "config"
    if link.is_symlink() and link.resolve() != config_dir:
        link.unlink()
    if not link.exists():
        link.symlink_to(config_dir, target_is_directory=True)
    elif not link.is_symlink():
        raise ArtifactError(f"{link} exists and is not a link to {config_dir}: move it away so "
                            "the regime's run reads the repository's config files")
    return rundir


def run_regime(regime: str, overlay: str | Path, snakefile: str | Path, rundir: str | Path,
               outputs: dict[str, str], cores: int, log_path: str | Path) -> None:
    """Run the regime's nested workflow up to :data:`REPORTS` and copy each report to
    ``outputs`` (``{file name: destination}``) atomically. The nested run's own log goes to
    ``log_path``; a failure names it."""
    overlay = Path(overlay)
    if not overlay.is_file():
        raise ArtifactError(f"regime {regime!r}: no overlay {overlay} (config/<regime>.yaml, "
                            "the keys that regime changes in config/config.yaml)")
    config_dir = overlay.resolve().parent
    rundir = prepare_rundir(rundir, config_dir)
    cmd = nested_command(snakefile, rundir, [str(config_dir / "config.yaml"),
                                             str(overlay.resolve())], list(REPORTS), cores)
    log.info("regime %s: %s", regime, " ".join(cmd))
    # A profile named in the environment would send the nested jobs to a cluster from inside
    # this job; the nested run is local to it.
    env = {k: v for k, v in os.environ.items() if k != "SNAKEMAKE_PROFILE"}
    with open(log_path, "a") as fh:
        child = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
        try:
            code = child.wait()
        except BaseException:
            # Ctrl-C: let the nested Snakemake stop its jobs and release its lock instead of
            # killing it outright (a killed run leaves runs/<regime>/ locked).
            child.send_signal(signal.SIGINT)
            try:
                child.wait(timeout=120)
            except subprocess.TimeoutExpired:
                child.kill()
            raise
    if code != 0:
        raise ArtifactError(
            f"regime {regime!r}: the nested run in {rundir} failed (exit {code}); its Snakemake "
            f"output is in {log_path}, its job logs under {rundir}/logs/. If it was killed and "
            f"its folder stays locked: {sys.executable} -m snakemake -s {Path(snakefile).resolve()} "
            f"--directory {rundir} --unlock")
    for report in REPORTS:
        src, dst = rundir / report, outputs[Path(report).name]
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)
        log.info("regime %s: %s -> %s", regime, src, dst)
