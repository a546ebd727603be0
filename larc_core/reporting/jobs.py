"""Snakemake's own job records (``.snakemake/metadata``): when each job ran, its rule, its
inputs and outputs. The runtime and performance reports take job times from them, since a
checkout, a stash or a DVC restore rewrites the benchmark files' time stamps."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any


def snakemake_jobs(metadata_dir: str | Path) -> list[dict[str, Any]]:
    """The jobs recorded in Snakemake's metadata folder (``.snakemake/metadata``: one JSON
    record per output file, named by its base64-encoded path, with the job's rule, inputs and
    start / end time; the outputs of one job share its ``job_hash``). Incomplete and touched
    records (no times) are left out; a missing folder has none."""
    if not Path(metadata_dir).is_dir():
        return []
    jobs: dict[tuple[int, float], dict[str, Any]] = {}
    for f in sorted(Path(metadata_dir).iterdir()):
        try:
            rec = json.loads(f.read_text())
            output = base64.urlsafe_b64decode(f.name.encode()).decode()
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        start, end = rec.get("starttime"), rec.get("endtime")
        if rec.get("incomplete") or start is None or end is None:
            continue
        job = jobs.setdefault((rec.get("job_hash"), float(start)), {
            "rule": rec.get("rule"), "start": float(start), "end": float(end),
            "inputs": list(rec.get("input") or []), "logs": list(rec.get("log") or []),
            "outputs": []})
        job["outputs"].append(output)
    return sorted(jobs.values(), key=lambda j: j["end"])


def job_name_of_log(log: str) -> str:
    """The benchmark name of the job that writes rule log ``log``: ``logs/eval/x.log`` ->
    ``eval_x`` (the workflow names each heavy job's log and benchmark file alike)."""
    rel = log.removeprefix("logs/").removesuffix(".log")
    return rel.replace("/", "_")


def job_times(records: list[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """Benchmark job name -> (start, end) unix seconds, from the records of the jobs that wrote
    a log (the workflow names each heavy job's log and benchmark file alike)."""
    return {job_name_of_log(log): (j["start"], j["end"]) for j in records for log in j["logs"]}
