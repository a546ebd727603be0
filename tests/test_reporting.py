"""The table and figure are computed from the per-episode evaluation files."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from larc_core.io import ArtifactError
from larc_core.reporting.figures import success_vs_offset
from larc_core.reporting.results import wilson_interval
from larc_core.reporting.table import write_table


def _eval_file(path, method, label, offset, successes, seed=None, latency=None):
    episodes = [{"success": s, "episode": i, "start_row": 100 * i, "goal_row": 100 * i + offset}
                for i, s in enumerate(successes)]
    doc = {
        "method": method, "label": label, "offset": offset, "budget": 2 * offset, "seed": seed,
        "success_rate": 0.999,  # deliberately wrong: the table must recompute from episodes
        "pairs_sha256": f"pairs{offset}", "episodes": episodes,
        "latency": latency if latency is not None else {"policy_forward": {"median_ms": 0.1, "mean_ms": 0.12},
                               "control_step": {"median_ms": 1.0, "mean_ms": 1.1}},
    }
    path.write_text(json.dumps(doc))
    return path


def test_table_recomputes_from_episodes(tmp_path):
    files = []
    for m, label in (("larc_idm", "LARC-IDM"), ("larc_chunk", "LARC-Chunk")):
        for o, succ in ((25, [True, True, False, True]), (50, [False, False, True, False])):
            files.append(_eval_file(tmp_path / f"{m}_h{o}.json", m, label, o, succ, seed=0))
    summary = write_table(files, tmp_path / "table.md", tmp_path / "table.csv")
    md = (tmp_path / "table.md").read_text()
    assert "| LARC-IDM | 1 | 75% (3/4, CI 30-95%) | 25% (1/4, CI 5-70%) |" in md
    assert "goal-pose success" in md and "identical pairs for every method" in md
    assert set(summary.success_rate_mean) == {0.75, 0.25}
    # Tidy: one row per method, seed and offset; the cells in the summary; DVC's metrics.
    summary_csv, metrics_json = tmp_path / "summary.csv", tmp_path / "metrics.json"
    write_table(files, tmp_path / "table.md", tmp_path / "table.csv",
                out_summary_csv=summary_csv, out_metrics=metrics_json)
    tidy = pd.read_csv(tmp_path / "table.csv")
    assert list(tidy.columns[:5]) == ["method", "label", "trained", "seed", "offset"]
    assert len(tidy) == 4 and set(tidy.seed) == {0} and tidy.trained.all()
    assert len(pd.read_csv(summary_csv)) == 4
    assert json.loads(metrics_json.read_text())["success_rate"] == {
        "larc_chunk": {"h25": 0.75, "h50": 0.25}, "larc_idm": {"h25": 0.75, "h50": 0.25}}
    success_vs_offset(files, tmp_path / "fig.png")
    assert (tmp_path / "fig.png").read_bytes()[:4] == b"\x89PNG"


def test_table_aggregates_seeds(tmp_path):
    """Mean over seeds with the spread; Wilson interval over all episodes; per-seed rows in CSV."""
    files = [
        _eval_file(tmp_path / f"s{seed}.json", "larc_chunk", "LARC-Chunk", 25, succ, seed=seed)
        for seed, succ in ((0, [True] * 4 + [False] * 6), (1, [True] * 6 + [False] * 4),
                           (2, [True] * 8 + [False] * 2))
    ]
    files.append(_eval_file(tmp_path / "noop.json", "noop", "No-op", 25, [False] * 10))
    summary = write_table(files, tmp_path / "t.md", tmp_path / "t.csv").set_index("method")
    chunk = summary.loc["larc_chunk"]
    assert chunk.n_seeds == 3 and chunk.successes == 18 and chunk.n_episodes == 30
    assert chunk.success_rate_mean == pytest.approx(0.6)
    assert chunk.success_rate_std == pytest.approx(0.2)  # sample sd of 0.4, 0.6, 0.8
    lo, hi = wilson_interval(18, 30)
    assert (chunk.wilson_low, chunk.wilson_high) == pytest.approx((lo, hi))
    md = (tmp_path / "t.md").read_text()
    assert f"| LARC-Chunk | 3 | 60% ± 20 (18/30, CI {100 * lo:.0f}-{100 * hi:.0f}%) |" in md
    assert "| No-op | - | 0% (0/10, CI 0-28%) |" in md
    csv = pd.read_csv(tmp_path / "t.csv")
    seeds = csv[csv.method == "larc_chunk"]
    assert sorted(seeds.seed) == [0, 1, 2]
    assert sorted(seeds.success_rate) == pytest.approx([0.4, 0.6, 0.8])
    noop = csv[csv.method == "noop"]  # no training: one row per offset, no seed
    assert len(noop) == 1 and noop.seed.isna().all() and not noop.trained.any()


def test_table_rejects_duplicate_and_mismatched_pairs(tmp_path):
    a = _eval_file(tmp_path / "a.json", "larc_idm", "LARC-IDM", 25, [True], seed=0)
    with pytest.raises(ArtifactError, match="two evaluation files hold larc_idm seed 0"):
        write_table([a, a], tmp_path / "t.md", tmp_path / "t.csv")
    b = _eval_file(tmp_path / "b.json", "larc_idm", "LARC-IDM", 25, [True], seed=1)
    doc = json.loads(b.read_text())
    doc["pairs_sha256"] = "other"
    b.write_text(json.dumps(doc))
    with pytest.raises(ArtifactError, match="different pair files"):
        write_table([a, b], tmp_path / "t.md", tmp_path / "t.csv")
    assert not (tmp_path / "t.md").exists()


def test_table_rejects_empty_eval_file(tmp_path):
    p = tmp_path / "x.json"
    _eval_file(p, "larc_idm", "LARC-IDM", 25, [])
    with pytest.raises(ArtifactError, match="no episodes"):
        write_table([p], tmp_path / "t.md", tmp_path / "t.csv")
    assert not (tmp_path / "t.md").exists()


def test_wilson_interval():
    lo, hi = wilson_interval(45, 50)
    assert 0.78 < lo < 0.80 and 0.95 < hi < 0.97
    assert wilson_interval(0, 10)[0] == 0.0


def test_table_refuses_rows_on_different_pairs(tmp_path):
    """Across methods too: every row of one offset must have run the same start/goal pairs."""
    a = _eval_file(tmp_path / "a.json", "larc_idm", "LARC-IDM", 25, [True, False], seed=0)
    b = _eval_file(tmp_path / "b.json", "cem_commit5", "CEM (commit 5)", 25, [True, True])
    write_table([a, b], tmp_path / "ok.md", tmp_path / "ok.csv")  # same pairs: accepted
    doc = json.loads(b.read_text())
    doc["pairs_sha256"] = "another draw"
    b.write_text(json.dumps(doc))
    with pytest.raises(ArtifactError, match="offset 25: the rows were evaluated on different "
                                            "pair files: larc_idm seed 0 | cem_commit5"):
        write_table([a, b], tmp_path / "t.md", tmp_path / "t.csv")
    doc["pairs_sha256"] = "pairs25"
    doc["episodes"][1]["start_row"] += 1  # same file name claimed, other episodes run
    b.write_text(json.dumps(doc))
    with pytest.raises(ArtifactError, match="different start/goal pairs"):
        write_table([a, b], tmp_path / "t.md", tmp_path / "t.csv")
    assert not (tmp_path / "t.md").exists()


def test_planner_row_may_run_the_first_pairs_only(tmp_path):
    """planner.n_pairs: a CEM row on the first pairs of the same list is accepted and noted; a
    row on other pairs (not a prefix) is still refused."""
    a = _eval_file(tmp_path / "a.json", "larc_idm", "LARC-IDM", 25, [True, False, True], seed=0)
    b = _eval_file(tmp_path / "b.json", "cem_commit5", "CEM (commit 5)", 25, [True, False])
    write_table([a, b], tmp_path / "ok.md", tmp_path / "ok.csv")
    table = (tmp_path / "ok.md").read_text()
    assert "(1/2, CI" in table and "CEM (commit 5): the first 2 of those pairs" in table
    doc = json.loads(b.read_text())
    doc["episodes"] = doc["episodes"][1:]  # pairs 2-3: not the first ones
    b.write_text(json.dumps(doc))
    with pytest.raises(ArtifactError, match="different start/goal pairs"):
        write_table([a, b], tmp_path / "t.md", tmp_path / "t.csv")


def test_planner_latency_cell_gives_time_per_plan_and_per_env_step(tmp_path):
    cem = {"policy_forward": {"median_ms": 2000.0, "mean_ms": 2100.0},
           "control_step": {"median_ms": 2001.0, "mean_ms": 2101.0},
           "env_steps_per_decision": 25}
    files = [
        _eval_file(tmp_path / "c.json", "cem_commit5", "CEM (commit 5)", 25, [True], latency=cem),
        _eval_file(tmp_path / "i.json", "larc_idm", "LARC-IDM", 25, [False], seed=0),
        _eval_file(tmp_path / "n.json", "noop", "No-op", 25, [False], latency={}),
    ]
    write_table(files, tmp_path / "t.md", tmp_path / "t.csv")
    md = (tmp_path / "t.md").read_text()
    assert "| CEM (commit 5) | - | 100% (1/1, CI 21-100%) | 2000 ms / plan of 25 steps " \
           "(80 ms/step) |" in md
    assert "| LARC-IDM | 1 | 0% (0/1, CI 0-79%) | 0.100 ms |" in md
    assert "| No-op | - | 0% (0/1, CI 0-79%) | - |" in md
    assert "CEM rows" in md and "latency (decision, median)" in md


def _timing(median, steps, kind="policy", per_step=None):
    t = {"median_ms": median, "p95_ms": 1.5 * median, "mean_ms": 1.1 * median, "calls": 1000}
    step = per_step or median / steps
    loop = {"median_ms": step, "p95_ms": 2 * step, "mean_ms": 1.2 * step, "calls": 1}
    return {"kind": kind, "decision": t, "control_step": dict(t, median_ms=median + 1),
            "per_env_step": loop, "env_steps_per_decision": steps}


def test_latency_report_ratios_and_figure(tmp_path):
    from larc_core.reporting.latency import ratios, write_latency_report

    load = {"load_1min": 1.0, "load_5min": 1.0, "load_15min": 1.0}
    bench = {
        "pairs_file": "results/eval/pairs_h25.json", "cpu_count": 2, "load_before": load,
        "load_after": load, "machine": {"torch_threads": 1, "cpu": "x86_64"},
        "methods": {
            "larc_chunk_wm_ft": _timing(0.2, 1),
            "larc_idm": _timing(0.1, 1),
            "cem_commit5": _timing(2000.0, 25, "planner", per_step=90.0),
        },
    }
    r = ratios(bench)
    assert len(r) == 1 and r[0]["reference"] == "larc_chunk_wm_ft"
    assert r[0]["per_decision"] == pytest.approx(10_000)
    assert r[0]["per_env_step"] == pytest.approx(450)
    files = [
        _eval_file(tmp_path / "w.json", "larc_chunk_wm_ft", "LARC-Chunk + WM-FT", 25,
                   [True, True], seed=0),
        _eval_file(tmp_path / "c.json", "cem_commit5", "CEM (commit 5)", 25, [True, False]),
    ]
    text = write_latency_report(bench, files, tmp_path / "lat.md", tmp_path / "lat.json",
                                tmp_path / "lat.png")
    assert "| CEM (commit 5) | CEM plan | 2000.0 |" in text
    assert "CEM (commit 5) takes 10,000x the time of LARC-Chunk + WM-FT per decision" in text
    assert "and 450x per env step" in text
    assert "| CEM (commit 5) | 90.0 | 50% |" in text and "| LARC-Chunk + WM-FT | 0.200 | 100% |" in text
    assert (tmp_path / "lat.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "lat.json").read_text())["ratios"][0]["planner"] == "cem_commit5"
