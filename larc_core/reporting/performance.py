"""``results/performance.md``: where the run's time went, against floors measured on its machine.

Every heavy job's wall time (its Snakemake benchmark file) is set against its floor: the
process start-up plus its work (frames, optimisation steps, env steps, plans, read from the
job's own outputs and settings) times the unit cost measured by rule ``machine_floors`` on the
same machine at the start of the run (:mod:`larc_core.floors`), divided by the processes the job
runs in parallel. The ratio says whether a stage is slow or the machine is: a stage within 2x
of its floor spends its time on its work. The report adds the run's elapsed time, the chain of
jobs that set it (critical path), and the load average sampled during the run.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from larc_core.io import ArtifactError, atomic_write_json, atomic_write_text
from larc_core.methods import METHODS
from larc_core.reporting.jobs import snakemake_jobs
from larc_core.reporting.runtime import load_runtimes

#: A stage at or below this ratio of wall time to floor spends its time on its work.
RATIO_TARGET = 2.0
#: Clock tolerance (s) when tracing the critical path through Snakemake's job records.
CHAIN_SLACK_S = 1.0
#: A job that started within this many seconds of its last input's producer waited for that
#: input (Snakemake polls for finished jobs); a longer gap means it waited for a core.
WAIT_GAP_S = 10.0

_EVAL = re.compile(r"^eval_(?P<method>.+?)(?:_seed(?P<seed>\d+))?_h(?P<offset>\d+)$")
_TRAIN = re.compile(r"^train_(?P<stage>.+)_seed(?P<seed>\d+)$")


@dataclass
class Floor:
    """A job's floor in seconds and the work it was computed from (for the report)."""

    seconds: float | None
    work: str


def _hms(seconds: float) -> str:
    return str(datetime.timedelta(seconds=round(seconds)))


def _read_json(path: str | Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"performance report: cannot read {path}: {exc}") from exc


class FloorModel:
    """Floors of the workflow's jobs from the measured unit costs and the run's settings.

    Args:
        floors: ``floors_s`` of rule machine_floors' JSON (unit costs in seconds).
        settings: the run's work settings: ``frames`` (demo frames), ``wm_steps``,
            ``policy_steps`` (stage -> steps), ``threads`` (rule -> processes it runs in
            parallel), ``frameskip``, ``eval_latency`` / ``planner_latency`` (warm-up + timed
            calls of the eval jobs' latency measurement), ``state_ceiling_stages``.
        eval_dir: folder of the evaluation JSONs (env steps and plans per job).
    """

    def __init__(self, floors: dict[str, float], settings: dict[str, Any],
                 eval_dir: str | Path) -> None:
        self.f, self.s, self.eval_dir = floors, settings, Path(eval_dir)

    def _eval_doc(self, method: str, seed: str | None, offset: str) -> dict[str, Any]:
        name = f"seed{seed}_h{offset}.json" if seed is not None else f"h{offset}.json"
        return _read_json(self.eval_dir / method / name)

    def floor(self, job: str) -> Floor:
        f, s = self.f, self.s
        start = f["process_start_s"]
        frames = int(s["frames"])
        threads = s["threads"]
        if job == "collect_demos":
            n = threads["collect_demos"]
            work = frames * (f["env_step_s"] + f["render_s"]) / n
            return Floor(start * 2 + work, f"{frames:,} frames (env step + render) / {n} workers")
        if job == "train_world_model":
            steps = int(s["wm_steps"])
            work = steps * f["world_model_step_s"] + frames * f["hdf5_read_frame_s"]
            return Floor(start + work, f"{steps:,} steps + read {frames:,} frames")
        if job == "cache_latents":
            work = frames * (f["hdf5_read_frame_s"] + f["encode_batched_frame_s"])
            return Floor(start + work, f"read + encode {frames:,} frames")
        m = _TRAIN.match(job)
        if m and f"policy_step_s.{m['stage']}" in f and m["stage"] in s["policy_steps"]:
            stage = m["stage"]
            steps = int(s["policy_steps"][stage])
            return Floor(start + steps * f[f"policy_step_s.{stage}"],
                         f"{steps:,} {stage} steps")
        if job == "state_ceiling":
            steps = int(s["policy_steps"]["state"]) * len(s["state_ceiling_stages"])
            env_steps = sum(
                int(e["steps"]) for row in
                _read_json(self.eval_dir / "state_ceiling.json")["rows"] for e in row["episodes"]
            )
            work = steps * f["policy_step_s.state"] + env_steps * f["env_step_s"]
            return Floor(start + work, f"{steps:,} state-policy steps + {env_steps:,} env steps")
        m = _EVAL.match(job)
        if m and m["method"] in METHODS:
            return self._eval_floor(m["method"], m["seed"], m["offset"])
        if job == "world_model_views" and "views_decoder_step_s" in f:
            steps = int(s["views_steps"])
            work = steps * f["views_decoder_step_s"] + frames * f["hdf5_read_frame_s"]
            return Floor(start + work, f"read {frames:,} frames + {steps:,} decoder steps")
        if job == "world_model_health" and "probe_step_s" in f:
            steps = int(s["probe_steps"])
            return Floor(start + steps * f["probe_step_s"], f"{steps:,} MLP-probe steps")
        if job == "counterfactual" and "counterfactual" in s:
            return self._counterfactual_floor(s["counterfactual"])
        if job == "latency" and "latency" in s:
            return self._latency_floor(s["latency"])
        return Floor(None, "not floored")

    def _latency_floor(self, lat: dict[str, Any]) -> Floor:
        """Rule latency: per policy, the timed decisions and control steps (warm-up included)
        and the closed-loop periods; per planner row, its timed plans twice and its periods."""
        f = self.f
        frame = f["render_s"] + f["encode_frame_s"]
        calls = int(lat["warmup"]) + int(lat["calls"])
        work = lat["policies"] * (calls * (2 * f["policy_forward_s"] + frame)
                                  + int(lat["calls"]) * (frame + f["policy_forward_s"]))
        plans = int(lat["plan_warmup"]) + int(lat["plan_calls"])
        for row, steps in lat["planner_steps_per_decision"].items():
            plan = self.plan_s(row)
            period = plan + steps * f["render_s"] + max(1, steps // int(
                self.s["frameskip"])) * f["encode_frame_s"]
            work += 2 * plans * plan + int(lat["plan_calls"]) * period
        return Floor(f["process_start_s"] + work,
                     f"{lat['policies']} policies x {calls:,} calls, "
                     f"{len(lat['planner_steps_per_decision'])} planners x {plans} plans")

    def _counterfactual_floor(self, c: dict[str, Any]) -> Floor:
        """Rule counterfactual: every start's three sequences stepped, its start and three end
        frames rendered and encoded; each diagnosis pair planned once and its plan and recorded
        blocks stepped."""
        f = self.f
        kinds, steps, starts = 3, int(c["env_steps"]), int(c["n_starts"])
        frame = f["render_s"] + f["encode_frame_s"]
        work = starts * (kinds * steps * f["env_step_s"] + (kinds + 1) * frame)
        pairs = int(c["plan_pairs"])
        plan_key = f"cem_plan_s.{c['plan_row']}"
        if pairs and plan_key in f:
            work += pairs * (f[plan_key] + 2 * steps * f["env_step_s"] + 2 * frame)
        return Floor(f["process_start_s"] + work,
                     f"{starts} starts x {kinds} sequences + {pairs} plans")

    def plan_s(self, row: str) -> float:
        """Floor of one plan of CEM row ``row`` (its own setting)."""
        key = f"cem_plan_s.{row}"
        if key not in self.f:
            raise ArtifactError(
                f"the machine floors hold no {key} (they hold "
                f"{sorted(k for k in self.f if k.startswith('cem_plan_s'))}): rerun rule "
                "machine_floors with this config")
        return self.f[key]

    def _eval_floor(self, method: str, seed: str | None, offset: str) -> Floor:
        f, s = self.f, self.s
        doc = self._eval_doc(method, seed, offset)
        workers = int(doc["throughput"]["workers"])
        env_steps = int(doc["throughput"]["env_steps"])
        start = f["process_start_s"] * (2 if workers > 1 else 1)  # spawned workers import too
        kind = METHODS[method]
        if kind.planned:
            plans = sum(int(e["controller"]["plans"]) for e in doc["episodes"])
            blocks = env_steps / int(s["frameskip"])
            timed = 2 * int(s["planner_latency"])  # decision and control step, warm-up included
            plan = self.plan_s(method)
            work = ((plans * plan + env_steps * (f["env_step_s"] + f["render_s"])
                     + blocks * f["encode_frame_s"]) / workers + timed * plan)
            return Floor(start + work, f"{plans:,} plans + {env_steps:,} env steps / {workers}")
        if kind.learned:
            per_step = (f["env_step_s"] + f["render_s"] + f["encode_frame_s"]
                        + f["policy_forward_s"])
            timed = int(s["eval_latency"]) * (2 * f["policy_forward_s"] + f["encode_frame_s"])
            work = env_steps * per_step / workers + timed
            return Floor(start + work, f"{env_steps:,} closed-loop steps / {workers}")
        work = env_steps * f["env_step_s"] / workers
        return Floor(start + work, f"{env_steps:,} env steps / {workers}")


def load_samples(load_logs: list[str | Path], t0: float, t1: float) -> np.ndarray:
    """(n, 4) rows ``unix time, load1, load5, load15`` of the load logs between t0 and t1."""
    rows = []
    for path in load_logs:
        for line in Path(path).read_text().splitlines():
            parts = line.split("\t")
            if len(parts) == 4 and not line.startswith("#"):
                try:
                    row = [float(p) for p in parts]
                except ValueError:
                    continue
                if t0 <= row[0] <= t1:
                    rows.append(row)
    return np.array(sorted(rows)).reshape(-1, 4)


def critical_path(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The chain of jobs that set the elapsed time, as the run was scheduled: from the job that
    ended last, step back to what it waited for, until nothing ran before it. A job waited for
    its input when the producer of one of its inputs ended just before it started (within
    ``WAIT_GAP_S``); otherwise its inputs were ready earlier and it waited for a core, freed by
    the job that ended last before it started. Oldest first; each entry: rule, first output,
    start, end (unix seconds) and ``waited_for`` (``input`` or ``core``; None for the first)."""
    if not jobs:
        return []
    producer: dict[str, list[dict[str, Any]]] = {}
    for job in jobs:
        for out in job["outputs"]:
            producer.setdefault(out, []).append(job)
    chain: list[tuple[dict[str, Any], str | None]] = [(jobs[-1], None)]
    while True:
        cur = chain[-1][0]
        # A predecessor ends before the current job ends: with the slack, two short jobs that
        # overlap would otherwise each be the other's predecessor and the walk never end.
        inputs = [p for f in cur["inputs"] for p in producer.get(f, [])
                  if p is not cur and p["end"] <= cur["start"] + CHAIN_SLACK_S
                  and p["end"] < cur["end"]]
        dep = max(inputs, key=lambda p: p["end"]) if inputs else None
        if dep is not None and cur["start"] - dep["end"] <= WAIT_GAP_S:
            chain[-1] = (cur, "input")
            chain.append((dep, None))
            continue
        earlier = [j for j in jobs if j is not cur and j["end"] <= cur["start"] + CHAIN_SLACK_S
                   and j["end"] < cur["end"]]
        if not earlier:
            break
        chain[-1] = (cur, "core")
        chain.append((max(earlier, key=lambda j: j["end"]), None))
    return [{"rule": j["rule"], "output": sorted(j["outputs"])[0], "start": j["start"],
             "end": j["end"], "waited_for": why} for j, why in reversed(chain)]


def performance(benchmarks: list[str | Path], floors_json: str | Path, settings: dict[str, Any],
                eval_dir: str | Path, load_logs: list[str | Path],
                metadata_dir: str | Path | None = None) -> dict[str, Any]:
    """The report's numbers: per job wall / CPU / floor / ratio, elapsed time, the critical path
    (from Snakemake's job records in ``metadata_dir``), load average during the run."""
    floors_doc = _read_json(floors_json)
    model = FloorModel(floors_doc["floors_s"], settings, eval_dir)
    # Each job's start and end from Snakemake's records where they cover it (see load_runtimes).
    records = snakemake_jobs(metadata_dir) if metadata_dir is not None else []
    df = load_runtimes(benchmarks, records=records)
    rows = []
    for r in df.itertuples():
        fl = model.floor(str(r.job))
        rows.append({
            "job": r.job, "wall_s": float(r.wall_s), "cpu_s": float(r.cpu_s),
            "floor_s": fl.seconds, "work": fl.work,
            "ratio": None if fl.seconds is None else float(r.wall_s) / fl.seconds,
            "start": float(r.start_time), "end": float(r.end_time),
        })
    t0 = min(r["start"] for r in rows)
    t1 = max(r["end"] for r in rows)
    samples = load_samples(load_logs, t0, t1)
    cores = int(floors_doc["machine_cores"])
    load = None
    if len(samples):
        load1 = samples[:, 1]
        load = {"samples": int(len(load1)), "mean": float(load1.mean()),
                "max": float(load1.max()), "p95": float(np.percentile(load1, 95)),
                "above_cores_fraction": float((load1 > cores).mean()),
                "interval_s": float(np.median(np.diff(samples[:, 0]))) if len(load1) > 1
                else None}
    floored = [r for r in rows if r["ratio"] is not None]
    return {
        "machine_cores": cores,
        "floors": floors_doc,
        "jobs": sorted(rows, key=lambda r: -r["wall_s"]),
        "elapsed_s": t1 - t0,
        "cpu_s": float(sum(r["cpu_s"] for r in rows if math.isfinite(r["cpu_s"]))),
        "critical_path": critical_path(
            [j for j in records if j["end"] >= t0 - CHAIN_SLACK_S]),
        "load": load,
        "worst_ratio": max((r["ratio"] for r in floored), default=None),
        "within_target": all(r["ratio"] <= RATIO_TARGET for r in floored),
    }


FLOOR_LABELS = {
    "process_start_s": "process start-up (Python + torch + gym-pusht + larc_core imports)",
    "env_step_s": "env step (10 physics substeps)",
    "render_s": "rendered frame",
    "world_model_step_s": "world-model training step (rule threads)",
    "encode_batched_frame_s": "encoder, per frame at the cache batch (rule threads)",
    "encode_frame_s": "encoder, one frame at batch 1 (1 thread)",
    "policy_forward_s": "policy forward at batch 1",
    "hdf5_read_frame_s": "HDF5 read, per frame",
    "views_decoder_step_s": "inspection-decoder step (world_model_views, rule threads)",
    "probe_step_s": "MLP-probe step (world_model_health, 1 thread)",
}


def _ms(seconds: float) -> str:
    ms = seconds * 1e3
    return f"{ms:.3f} ms" if ms < 10 else f"{ms:,.0f} ms"


def render_performance(res: dict[str, Any]) -> str:
    fl = res["floors"]
    cores = res["machine_cores"]
    lines = [
        "# Performance: the run against floors measured on its machine", "",
        f"Machine: {cores} cores. Floors measured by rule machine_floors at the start of the run "
        f"in {fl['measured_in_s']:.0f} s holding every core (load average "
        f"{fl['load_before'][0]:.2f} before, {fl['load_after'][0]:.2f} after); each stage's "
        "floor is its process start-up plus its work times these unit costs, over the "
        "processes it runs in parallel (larc_core/floors.py, larc_core/reporting/performance.py)."
        , "",
        "| unit | floor |", "|---|---:|",
    ]
    for key, value in fl["floors_s"].items():
        label = FLOOR_LABELS.get(key) or (
            f"one CEM plan, {key.split('.', 1)[1]} setting (1 thread)"
            if key.startswith("cem_plan_s.") else
            f"policy optimisation step, {key.split('.', 1)[1]} (1 thread, config batch)"
            if key.startswith("policy_step_s.") else key)
        lines.append(f"| {label} | {_ms(value)} |")
    lines += [
        "", f"## Jobs (wall time against floor; target <= {RATIO_TARGET:g}x)", "",
        "| job | wall s | CPU s | floor s | wall / floor | work |", "|---|---:|---:|---:|---:|---|",
    ]
    for r in res["jobs"]:
        floor = "-" if r["floor_s"] is None else f"{r['floor_s']:.1f}"
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        lines.append(f"| {r['job']} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {floor} | {ratio} | "
                     f"{r['work']} |")
    worst = res["worst_ratio"]
    lines += [
        "",
        f"Worst floored job: {worst:.2f}x; "
        + ("every floored job is within the target." if res["within_target"] else
           f"jobs above {RATIO_TARGET:g}x are slower than their work explains.")
        if worst is not None else "No job has a floor.",
        "", "## The run", "",
        f"Elapsed: {res['elapsed_s']:.0f} s ({_hms(res['elapsed_s'])}) from the first benchmarked "
        f"job's start to the last one's end; CPU: {res['cpu_s']:.0f} s, that is "
        f"{res['cpu_s'] / max(res['elapsed_s'], 1e-9):.2f} of {cores} cores busy on average.",
        "",
    ]
    path = res["critical_path"]
    if path:
        t0 = path[0]["start"]
        lines += [
            "Critical path (from the last job to finish back to the first, each job preceded by "
            "what it waited for: the input it needed, or the core a running job freed; from "
            "Snakemake's job records):", "",
            "| rule | output | start (s) | wall s | waited for |", "|---|---|---:|---:|---|",
        ]
        for j in path:
            lines.append(f"| {j['rule']} | `{j['output']}` | {j['start'] - t0:.0f} | "
                         f"{j['end'] - j['start']:.1f} | {j['waited_for'] or '-'} |")
        waits = {w: sum(1 for j in path if j["waited_for"] == w) for w in ("input", "core")}
        lines.append("")
        lines.append(f"{waits['input']} steps of the path waited for an input and "
                     f"{waits['core']} for a core.")
        lines.append("")
    else:
        lines += ["Critical path: no Snakemake job records (.snakemake/metadata) cover the run.",
                  ""]
    load = res["load"]
    if load is None:
        lines.append("Load average: no samples cover the run (the sampler starts with `snakemake`; "
                     "logs/load/ holds its files).")
    else:
        lines.append(
            f"Load average (1 min) during the run, {load['samples']} samples"
            + (f" every {load['interval_s']:.0f} s" if load["interval_s"] else "")
            + f": mean {load['mean']:.2f}, p95 {load['p95']:.2f}, max {load['max']:.2f} on "
            f"{cores} cores; {100 * load['above_cores_fraction']:.0f}% of samples above the core "
            "count.")
    return "\n".join(lines) + "\n"


def cem_curve_section(curve_jsonl: str | Path,
                      planners: dict[str, dict[str, Any]] | None) -> str:
    """Markdown: the CEM success-versus-plan-time points of ``benchmarks/cem_curve.py`` (one
    JSON line each), the run's CEM rows (``planners``: row -> settings) marked."""
    rows = [json.loads(line) for line in Path(curve_jsonl).read_text().splitlines()
            if line.strip()]
    if not rows:
        return ""
    chosen = {(p["samples"], p["iterations"], p["receding"]): row
              for row, p in (planners or {}).items()}
    lines = [
        "## CEM: success against plan time", "",
        f"Measured by `benchmarks/cem_curve.py` (`{curve_jsonl}`) on a default run's world model, "
        "one torch thread: each point is the real CEM evaluation of tuning pairs of one offset, "
        "drawn from training episodes with their own seed (never the evaluation's pairs). The "
        "settings of the run's CEM rows are marked.", "",
        "| samples x iterations | executed blocks per plan | offset | successes | plan (median) "
        "| CPU s per plan | load before |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(rows, key=lambda r: (r["receding"] != 5, r["offset"],
                                          r["samples"] * r["iterations"])):
        row = chosen.get((r["samples"], r["iterations"], r["receding"]))
        mark = f" (this run's {row})" if row else ""
        lines.append(
            f"| {r['samples']} x {r['iterations']}{mark} | {r['receding']} | {r['offset']} | "
            f"{r['successes']} / {r['pairs']} | {r['plan_median_ms']:,.0f} ms | "
            f"{r['cpu_s_per_plan']:.3f} | {r['load_before']:.2f} |")
    return "\n".join(lines) + "\n"


def write_performance(out_md: str | Path, out_json: str | Path, *,
                      cem_curve: str | Path | None = None,
                      planners: dict[str, dict[str, Any]] | None = None,
                      **kwargs: Any) -> dict[str, Any]:
    """Compute :func:`performance` and write the Markdown report and its JSON atomically;
    with ``cem_curve`` the report adds the CEM setting curve (:func:`cem_curve_section`)."""
    res = performance(**kwargs)
    atomic_write_json(out_json, res)
    text = render_performance(res)
    if cem_curve is not None:
        text += "\n" + cem_curve_section(cem_curve, planners)
    atomic_write_text(out_md, text)
    return res
