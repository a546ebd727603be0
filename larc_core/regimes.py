"""Another data regime's table and claims beside the default run's.

A regime is an overlay of the default config (``config/<regime>.yaml``: only the keys it
changes). Its run needs its own data, checkpoints and results, so it runs as a nested
Snakemake in ``runs/<regime>/`` (the same Snakefile, ``--directory`` there, the default config
and the overlay as config files) and only its reports are copied into
``results/regimes/<regime>/``: the default run's files are never touched, and a rerun of the
regime target reruns only what the nested run finds stale.
"""

from __future__ import annotations

import os
import shutil
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
    after it), the config files relative to ``rundir`` (where ``config/`` is linked)."""
    cmd = [sys.executable, "-m", "snakemake", *targets, "-s", str(Path(snakefile).resolve()),
           "--directory", str(rundir), "--cores", str(cores), "--configfile", *configfiles]
    return cmd + (["--dry-run"] if dry_run else [])


def prepare_rundir(rundir: str | Path, config_dir: str | Path) -> Path:
    """Create ``rundir`` with ``config`` linked to the repository's config folder (the
    Snakefile's ``configfile:`` and the overlay resolve there)."""
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
    rundir = prepare_rundir(rundir, overlay.parent)
    cmd = nested_command(snakefile, rundir, ["config/config.yaml", f"config/{overlay.name}"],
                         list(REPORTS), cores)
    log.info("regime %s: %s", regime, " ".join(cmd))
    with open(log_path, "a") as fh:
        fh.flush()
        done = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env=dict(os.environ))
    if done.returncode != 0:
        raise ArtifactError(f"regime {regime!r}: the nested run in {rundir} failed (exit "
                            f"{done.returncode}); its Snakemake output is in {log_path}, its "
                            f"job logs under {rundir}/logs/")
    for report in REPORTS:
        src, dst = rundir / report, outputs[Path(report).name]
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)
        log.info("regime %s: %s -> %s", regime, src, dst)
