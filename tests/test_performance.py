"""Performance report: floors, critical path, load samples, the table's latency source."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time

import pandas as pd
import pytest

from larc_core.floors import median_seconds
from larc_core.loadmon import alive, sample
from larc_core.reporting.jobs import job_name_of_log, snakemake_jobs
from larc_core.reporting.performance import FloorModel, critical_path, load_samples
from larc_core.reporting.table import apply_latency_report

FLOORS = {
    "process_start_s": 2.0, "env_step_s": 1e-4, "render_s": 5e-4, "world_model_step_s": 0.08,
    "encode_batched_frame_s": 4e-4, "encode_frame_s": 6e-4, "policy_forward_s": 1e-4,
    "policy_step_s.idm": 0.01, "policy_step_s.chunk": 0.012, "policy_step_s.gc_idm": 0.015,
    "policy_step_s.wm_ft": 0.05, "policy_step_s.state": 0.01, "cem_plan_s.cem_commit5": 0.1,
    "hdf5_read_frame_s": 1e-5,
}
SETTINGS = {
    "frames": 10_000, "wm_steps": 1000,
    "policy_steps": {"idm": 500, "chunk": 500, "gc_idm": 500, "state": 500, "wm_ft": 100},
    "threads": {"collect_demos": 2}, "frameskip": 5, "eval_latency": 10, "planner_latency": 4,
    "state_ceiling_stages": ["idm", "chunk"],
}


def _eval_doc(tmp_path, method, name, env_steps, workers, plans=None):
    folder = tmp_path / method
    folder.mkdir(exist_ok=True)
    episodes = [{"steps": env_steps, **({"controller": {"plans": plans}} if plans else {})}]
    (folder / name).write_text(json.dumps(
        {"throughput": {"workers": workers, "env_steps": env_steps}, "episodes": episodes}))


def test_floors_are_start_up_plus_work_over_workers(tmp_path):
    _eval_doc(tmp_path, "larc_chunk", "seed0_h25.json", 1000, 2)
    _eval_doc(tmp_path, "cem_commit5", "h25.json", 500, 1, plans=20)
    _eval_doc(tmp_path, "noop", "h25.json", 800, 1)
    m = FloorModel(FLOORS, SETTINGS, tmp_path)
    assert m.floor("train_world_model").seconds == pytest.approx(2.0 + 1000 * 0.08 + 0.1)
    assert m.floor("train_chunk_seed1").seconds == pytest.approx(2.0 + 500 * 0.012)
    assert m.floor("train_wm_ft_seed0").seconds == pytest.approx(2.0 + 100 * 0.05)
    assert m.floor("collect_demos").seconds == pytest.approx(4.0 + 10_000 * 6e-4 / 2)
    per_step = 1e-4 + 5e-4 + 6e-4 + 1e-4
    # Two workers: the spawned one starts Python too; the latency calls run in the parent.
    assert m.floor("eval_larc_chunk_seed0_h25").seconds == pytest.approx(
        4.0 + 1000 * per_step / 2 + 10 * (2e-4 + 6e-4))
    cem = m.floor("eval_cem_commit5_h25").seconds
    assert cem == pytest.approx(2.0 + 20 * 0.1 + 500 * 6e-4 + 100 * 6e-4 + 8 * 0.1)
    assert m.floor("eval_noop_h25").seconds == pytest.approx(2.0 + 800 * 1e-4)
    assert m.floor("world_model_views").seconds is None  # no decoder-step floor measured
    m = FloorModel({**FLOORS, "views_decoder_step_s": 0.02, "probe_step_s": 0.001},
                   {**SETTINGS, "views_steps": 100, "probe_steps": 1000, "latency": {
                       "warmup": 1, "calls": 10, "plan_warmup": 1, "plan_calls": 2,
                       "policies": 2, "planner_steps_per_decision": {"cem_commit5": 25}}}, tmp_path)
    assert m.floor("world_model_views").seconds == pytest.approx(2.0 + 100 * 0.02 + 0.1)
    assert m.floor("world_model_health").seconds == pytest.approx(2.0 + 1000 * 0.001)
    frame = 5e-4 + 6e-4
    policies = 2 * (11 * (2e-4 + frame) + 10 * (frame + 1e-4))
    planner = 2 * 3 * 0.1 + 2 * (0.1 + 25 * 5e-4 + 5 * 6e-4)
    assert m.floor("latency").seconds == pytest.approx(2.0 + policies + planner)


def _job(rule, start, end, inputs=(), outputs=()):
    return {"rule": rule, "start": start, "end": end, "inputs": list(inputs),
            "outputs": list(outputs) or [f"{rule}.out"]}


def test_critical_path_follows_inputs_and_freed_cores():
    jobs = [
        _job("collect", 0, 10, outputs=["d.h5"]),
        _job("wm", 11, 60, ["d.h5"], ["wm.pt"]),
        _job("side", 12, 30, ["d.h5"]),  # ran beside the world model, on nobody's path
        _job("train", 61, 80, ["wm.pt"], ["p.pt"]),
        _job("other", 61, 95, ["wm.pt"]),
        _job("eval", 96, 100, ["p.pt"]),  # input ready at 80, started when "other" freed a core
    ]
    path = critical_path(jobs)
    assert [(j["rule"], j["waited_for"]) for j in path] == [
        ("collect", None), ("wm", "input"), ("other", "input"), ("eval", "core")]
    assert critical_path([]) == []
    # Two short jobs that overlap within the slack are not each other's predecessor (the walk
    # used to alternate between them forever).
    short = [_job("a", 100.0, 100.4), _job("b", 100.2, 100.6)]
    assert [j["rule"] for j in critical_path(short)] == ["a", "b"]


def test_snakemake_job_records_group_outputs_by_job(tmp_path):
    def record(path, **rec):
        name = base64.urlsafe_b64encode(path.encode()).decode()
        (tmp_path / name).write_text(json.dumps(rec))

    record("a.txt", rule="r", input=["x"], starttime=1.0, endtime=2.0, job_hash=7)
    record("b.txt", rule="r", input=["x"], starttime=1.0, endtime=2.0, job_hash=7)
    record("c.txt", rule="s", input=["a.txt"], starttime=None, endtime=None, job_hash=8)
    (tmp_path / "not-base64!").write_text("{}")
    jobs = snakemake_jobs(tmp_path)
    assert len(jobs) == 1 and sorted(jobs[0]["outputs"]) == ["a.txt", "b.txt"]
    # Benchmark names follow the rule logs.
    assert job_name_of_log("logs/eval/larc_chunk_seed0_h25.log") == "eval_larc_chunk_seed0_h25"
    assert job_name_of_log("logs/train_chunk/seed1.log") == "train_chunk_seed1"
    assert job_name_of_log("logs/collect_demos.log") == "collect_demos"


def test_load_samples_keep_the_run_window(tmp_path):
    log = tmp_path / "a.tsv"
    log.write_text("# unix_time\tload1\tload5\tload15\n1.0\t0.5\t0.4\t0.3\n5.0\t2.0\t1\t1\n"
                   "9.0\t3\t1\t1\nbroken line\n")
    got = load_samples([log], 2.0, 9.0)
    assert got.shape == (2, 4) and list(got[:, 1]) == [2.0, 3.0]


def test_load_sampler_stops_with_the_process_it_watches(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1.5)"])
    out = tmp_path / "load.tsv"
    t0 = time.time()
    n = sample(out, child.pid, interval=0.2)
    child.wait()
    assert 2 <= n and time.time() - t0 < 10
    assert not alive(child.pid)
    rows = load_samples([out], 0, time.time() + 1)
    assert len(rows) == n and (rows[:, 1] >= 0).all()
    assert alive(os.getpid())


def test_median_seconds_times_the_calls():
    calls = []
    t = median_seconds(lambda: (calls.append(1), time.sleep(0.01)), calls=3, warmup=1)
    assert len(calls) == 4 and 0.009 < t < 0.5


def test_table_latency_comes_from_the_latency_report():
    summary = pd.DataFrame({
        "method": ["larc_chunk", "cem_commit5", "noop"],
        "policy_forward_median_ms": [9.0, 9000.0, float("nan")],
        "env_steps_per_decision": [1, 25, 1],
    })
    latency = {"methods": {
        "larc_chunk": {"decision": {"median_ms": 0.1}, "env_steps_per_decision": 1},
        "cem_commit5": {"decision": {"median_ms": 150.0}, "env_steps_per_decision": 25},
    }}
    out = apply_latency_report(summary, latency)
    assert list(out.policy_forward_median_ms[:2]) == [0.1, 150.0]
    assert pd.isna(out.policy_forward_median_ms[2])  # not timed: no busy-machine fallback
    assert list(out.env_steps_per_decision) == [1, 25, 1]
