"""``larc restore``: rebuild a published run's state from DVC, or fail loudly.

DVC ships the large artifacts but not their file times, and Snakemake decides what to rerun by
file times, so a clone plus ``dvc pull`` is not yet a run Snakemake considers done. The restore
is one command that cannot report a success it did not achieve:

1. ``dvc pull``: any failure stops here, naming the remote and DVC's own message;
2. ``dvc status``: every output recorded in ``dvc.lock`` must exist and match its hash, else
   stop naming the outputs that do not (nothing has been marked up to date yet);
3. ``snakemake --touch``: mark the restored outputs up to date, in workflow order;
4. ``snakemake -n``: must say there is nothing to do, else stop listing the jobs it plans.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from larc_core.logs import get_logger

log = get_logger("restore")


class RestoreError(RuntimeError):
    """The restore did not restore the run (the message says which step and why)."""


Runner = Callable[[list[str]], subprocess.CompletedProcess]


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True)


def _tail(res: subprocess.CompletedProcess, n: int = 1500) -> str:
    return (res.stdout + res.stderr).strip()[-n:]


def default_remote(run: Runner = _run) -> str:
    """``name (url)`` of the DVC default remote, or a sentence saying there is none."""
    name = run(["dvc", "remote", "default"]).stdout.strip()
    if not name:
        return "none: no default DVC remote is set (`dvc remote add -d <name> <url>`)"
    url = run(["dvc", "config", f"remote.{name}.url"]).stdout.strip() or "url not set"
    return f"{name} ({url})"


def restore(targets: list[str], configfile: str | None = None, run: Runner = _run) -> None:
    """Pull, check, touch and confirm (module docstring); raises :class:`RestoreError`."""
    if not Path("dvc.lock").exists():
        raise RestoreError("no dvc.lock in this folder: nothing records which artifacts to "
                           "restore (run from the repository root of a commit that has one)")
    remote = default_remote(run)
    log.info("dvc pull from %s", remote)
    res = run(["dvc", "pull"])
    if res.returncode != 0:
        raise RestoreError(f"`dvc pull` from remote {remote} failed, so nothing was restored or "
                           f"marked up to date. DVC said:\n{_tail(res)}")
    res = run(["dvc", "status", "--json"])
    try:
        changed = json.loads(res.stdout or "{}") if res.returncode == 0 else None
    except json.JSONDecodeError:
        changed = None
    if changed is None:
        raise RestoreError(f"`dvc status` failed after the pull:\n{_tail(res)}")
    if changed:
        raise RestoreError(
            "after `dvc pull` these outputs are missing or differ from dvc.lock, so nothing was "
            f"marked up to date: {json.dumps(changed)[:1500]}")
    log.info("every output in dvc.lock is present and matches its hash")
    config = ["--configfile", configfile] if configfile else []
    snakemake = [sys.executable, "-m", "snakemake"]
    res = run([*snakemake, "--touch", "--cores", "1", *targets, *config])
    if res.returncode != 0:
        raise RestoreError(f"`snakemake --touch` failed:\n{_tail(res)}")
    res = run([*snakemake, "-n", *targets, *config])
    if res.returncode != 0 or "Nothing to be done" not in res.stdout + res.stderr:
        raise RestoreError("after the restore Snakemake still plans jobs (the restored run is "
                           f"not the one this config and code describe):\n{_tail(res, 3000)}")
    log.info("restored: Snakemake has nothing to do for %s",
             " ".join(targets) or "the default target")
