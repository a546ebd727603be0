"""The table and figure are computed from the per-episode evaluation files."""

from __future__ import annotations

import json

import pytest

from larc_core.io import ArtifactError
from larc_core.reporting.figures import success_vs_offset, wilson_interval
from larc_core.reporting.table import write_table


def _eval_file(path, method, label, offset, successes):
    episodes = [{"success": s, "episode": i} for i, s in enumerate(successes)]
    doc = {
        "method": method, "label": label, "offset": offset, "budget": 2 * offset,
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
            files.append(_eval_file(tmp_path / f"{m}_h{o}.json", m, label, o, succ))
    df = write_table(files, tmp_path / "table.md", tmp_path / "table.csv")
    md = (tmp_path / "table.md").read_text()
    assert "| LARC-IDM | 75% (3/4) | 25% (1/4) |" in md
    assert "goal-pose success" in md and "identical start/goal pairs" in md
    assert set(df.success_rate) == {0.75, 0.25}
    assert (tmp_path / "table.csv").read_text().count("\n") == 5
    success_vs_offset(files, tmp_path / "fig.png")
    assert (tmp_path / "fig.png").read_bytes()[:4] == b"\x89PNG"


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
