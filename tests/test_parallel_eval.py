"""Evaluation spread over worker processes gives the records of the sequential path, for a
learned policy, the CEM planner and a reference row; every row runs the same pair list."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from larc_core.evaluation.pairs import write_pairs
from larc_core.evaluation.run import evaluate
from larc_core.io import sha256_file
from larc_core.policies import ActionStats, make_policy
from larc_core.policies.checkpoint import save_policy
from larc_core.reporting.table import write_table
from larc_core.world_model import WorldModel, WorldModelConfig, save_world_model

OFFSET = 25
N_PAIRS = 4


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, repo_root, demo_file):
    """Demonstrations, pairs, a smoke-size world model and an IDM checkpoint (random weights)."""
    from larc_core.config import load_config

    root = tmp_path_factory.mktemp("par")
    demos = demo_file
    pairs = root / "pairs.json"
    write_pairs(demos, OFFSET, N_PAIRS, 42, pairs)
    cfg = load_config(repo_root / "config" / "smoke.yaml")
    torch.manual_seed(0)
    wm = WorldModel(WorldModelConfig.from_dict(cfg["world_model"]["model"]))
    for block in wm.predictor.transformer.layers:  # make the predictor depend on the actions
        torch.nn.init.normal_(block.adaLN_modulation[1].weight, std=0.3)
    wm.set_action_stats(np.zeros(2), np.full(2, 0.3))
    wm_path = root / "wm.pt"
    save_world_model(wm.freeze(), wm_path)
    policy = make_policy("idm", latent_dim=wm.cfg.latent_dim, hidden_dim=16, depth=1)
    ckpt = root / "idm"
    save_policy(policy, "idm", ActionStats(torch.zeros(2), torch.full((2,), 0.3)), ckpt,
                {"world_model_sha256": sha256_file(wm_path)})
    planner = {"samples": 16, "iterations": 2, "top_k": 4, "horizon": 5, "receding": 1}
    return {"demos": demos, "pairs": pairs, "wm": wm_path, "idm": ckpt, "planner": planner,
            "root": root}


def _run(tiny, method: str, workers: int) -> dict:
    learned = method.startswith("larc")
    return evaluate(
        method, demo_path=tiny["demos"], pairs_path=tiny["pairs"],
        out_path=tiny["root"] / f"{method}_w{workers}.json",
        world_model_path=tiny["wm"] if method != "replay" else None,
        checkpoint_dir=tiny["idm"] if learned else None,
        planner=tiny["planner"] if method.startswith("cem") else None,
        latency_warmup=0, latency_calls=1, seed=42, policy_seed=0 if learned else None,
        workers=workers, min_pairs_per_worker=1, progress=False,
    )


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="parallel evaluation needs 2 cores")
@pytest.mark.parametrize("method", ["larc_idm", "cem_replan1", "replay"])
def test_parallel_and_sequential_records_are_identical(tiny, method):
    before = torch.get_num_threads()
    seq = _run(tiny, method, workers=1)
    par = _run(tiny, method, workers=2)
    assert torch.get_num_threads() == before  # evaluation restores the caller's torch threads
    assert seq["throughput"]["workers"] == 1 and par["throughput"]["workers"] == 2
    assert len(par["episodes"]) == N_PAIRS
    assert [e["index"] for e in par["episodes"]] == list(range(N_PAIRS))
    assert par["episodes"] == seq["episodes"]  # every field, bit for bit
    assert par["successes"] == seq["successes"]
    stored = json.loads((tiny["root"] / f"{method}_w2.json").read_text())
    assert stored["episodes"] == seq["episodes"]
    if method == "cem_replan1":
        # the planner really planned: one plan per 5-step block of every episode
        for e in par["episodes"]:
            assert e["controller"]["plans"] == -(-e["steps"] // 5)
        assert par["latency"]["env_steps_per_decision"] == 5
        assert par["planner"]["receding"] == 1


def test_every_row_ran_the_same_pair_list(tiny):
    """The table accepts the rows above (one pair list) and refuses a row run on other pairs."""
    files = sorted(tiny["root"].glob("*_w1.json"))
    if len(files) < 3:  # the parallel test was skipped or ran alone: make the files here
        files = [tiny["root"] / f"{m}_w1.json" for m in ("larc_idm", "cem_replan1", "replay")]
        for m in ("larc_idm", "cem_replan1", "replay"):
            _run(tiny, m, workers=1)
    pairs = json.loads(tiny["pairs"].read_text())["pairs"]
    for f in files:
        doc = json.loads(f.read_text())
        assert [(e["start_row"], e["goal_row"]) for e in doc["episodes"]] == [
            (p["start_row"], p["goal_row"]) for p in pairs
        ]
    summary = write_table(files, tiny["root"] / "t.md", tiny["root"] / "t.csv")
    assert set(summary.method) == {"larc_idm", "cem_replan1", "replay"}
    md = (tiny["root"] / "t.md").read_text()
    assert "| CEM (re-plan 1) | - |" in md and "/ plan of 5 steps" in md
    # A row evaluated on another draw of pairs is refused.
    other = tiny["root"] / "other_pairs.json"
    write_pairs(tiny["demos"], OFFSET, N_PAIRS, 7, other)
    odd = evaluate("noop", demo_path=tiny["demos"], pairs_path=other,
                   out_path=tiny["root"] / "noop_other.json", progress=False)
    assert odd["pairs_sha256"] != json.loads(files[0].read_text())["pairs_sha256"]
    from larc_core.io import ArtifactError

    with pytest.raises(ArtifactError, match="different pair files"):
        write_table([*files, tiny["root"] / "noop_other.json"], tiny["root"] / "t2.md",
                    tiny["root"] / "t2.csv")


def test_latency_benchmark_times_every_deciding_method(tiny):
    """The latency rule's body on tiny inputs: a policy and both CEM rows, side by side."""
    from larc_core.evaluation.build import ControllerSpec
    from larc_core.evaluation.latency import benchmark_methods
    from larc_core.reporting.latency import write_latency_report

    common = {"offset": OFFSET, "resolution": 32, "demo_path": str(tiny["demos"]),
              "world_model_path": str(tiny["wm"]), "seed": 42}
    specs = {
        "larc_idm": ControllerSpec("larc_idm", checkpoint_dir=str(tiny["idm"]), **common),
        "cem_commit5": ControllerSpec("cem_commit5", planner={**tiny["planner"], "receding": 5},
                                      **common),
        "cem_replan1": ControllerSpec("cem_replan1", planner=tiny["planner"], **common),
    }
    bench = benchmark_methods(specs, tiny["demos"], tiny["pairs"], warmup=2, calls=30,
                              plan_warmup=1, plan_calls=3, progress=False)
    m = bench["methods"]
    assert m["larc_idm"]["kind"] == "policy" and m["larc_idm"]["decision"]["calls"] == 30
    assert m["larc_idm"]["per_env_step"]["env_steps"] == 30
    assert m["cem_commit5"]["decision"]["calls"] == 3
    assert m["cem_commit5"]["env_steps_per_decision"] == 25
    assert m["cem_commit5"]["per_env_step"]["calls"] == 3  # 3 whole decision periods
    assert m["cem_commit5"]["per_env_step"]["env_steps"] == 3 * 25
    assert m["cem_replan1"]["per_env_step"]["env_steps"] == 3 * 5
    assert bench["machine"]["torch_threads"] == 1
    for entry in m.values():
        d, c = entry["decision"], entry["control_step"]
        assert 0 < d["median_ms"] <= d["p95_ms"] and 0 < c["median_ms"]
    # a plan (several predictor rollouts of many candidates) costs more than a policy forward
    assert m["cem_replan1"]["decision"]["median_ms"] > m["larc_idm"]["decision"]["median_ms"]
    evals = [tiny["root"] / f"{k}_w1.json" for k in ("larc_idm", "cem_replan1")]
    for k, f in zip(("larc_idm", "cem_replan1"), evals, strict=True):
        if not f.exists():
            _run(tiny, k, workers=1)
    text = write_latency_report(bench, evals, tiny["root"] / "lat.md", None,
                                tiny["root"] / "lat.png")
    assert "CEM (re-plan 1) takes" in text and "LARC-IDM per decision" in text
    assert (tiny["root"] / "lat.png").stat().st_size > 0
