"""The table and figure are computed from the per-episode evaluation files."""

from __future__ import annotations

import json

import pytest

from larc_core.io import ArtifactError
from larc_core.reporting.figures import success_vs_offset
from larc_core.reporting.results import wilson_interval
from larc_core.reporting.table import write_table


def _eval_file(path, method, label, offset, successes, seed=None):
    episodes = [{"success": s, "episode": i} for i, s in enumerate(successes)]
    doc = {
        "method": method, "label": label, "offset": offset, "budget": 2 * offset, "seed": seed,
        "success_rate": 0.999,  # deliberately wrong: the table must recompute from episodes
        "pairs_sha256": f"pairs{offset}", "episodes": episodes,
        "latency": {"policy_forward": {"median_ms": 0.1, "mean_ms": 0.12},
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
    assert (tmp_path / "table.csv").read_text().count("\n") == 1 + 4 + 4  # header, seeds, means
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
    import pandas as pd

    csv = pd.read_csv(tmp_path / "t.csv")
    seeds = csv[(csv.row == "seed") & (csv.method == "larc_chunk")]
    assert sorted(seeds.seed) == [0, 1, 2]
    assert sorted(seeds.success_rate) == pytest.approx([0.4, 0.6, 0.8])


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
