"""The WM-FT sweep's report: points compared pair by pair with the Chunk policy, the selection."""

from __future__ import annotations

import json

import pytest

from larc_core.evaluation.tuning import NO_FINE_TUNING, wm_ft_report
from larc_core.io import ArtifactError

PAIRS = [(i, i + 25) for i in range(0, 400, 10)]  # 40 tuning pairs


def _point(tmp_path, name, successes, train=None, seeds=(0, 1)):
    """A point's JSON as rule wm_ft_point writes it: ``successes[offset]`` is the number of
    successful pairs (the first ones) for every seed."""
    runs = [{"seed": s, "offset": o, "successes": k, "n_episodes": len(PAIRS),
             "episodes": [{"start_row": a, "goal_row": b, "success": i < k}
                          for i, (a, b) in enumerate(PAIRS)]}
            for s in seeds for o, k in successes.items()]
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"point": name, "overrides": dict(train or {}),
                                "train": train, "runs": runs}))
    return str(path)


def test_a_point_replaces_the_incumbent_only_when_it_beats_it_pair_by_pair(tmp_path):
    files = [_point(tmp_path, NO_FINE_TUNING, {25: 20, 50: 10}),
             _point(tmp_path, "base", {25: 20, 50: 11}, {"lr": 2e-4, "steps": 200}),
             _point(tmp_path, "lr_low", {25: 22, 50: 12}, {"lr": 1e-5, "steps": 200}),
             _point(tmp_path, "long", {25: 36, 50: 30}, {"lr": 2e-4, "steps": 2000})]
    md, js = tmp_path / "wm_ft.md", tmp_path / "wm_ft.json"
    res = wm_ft_report(files, str(md), str(js), current={"lr": 2e-4, "steps": 200},
                       incumbent="base")
    assert res["selected"] == "long" and not res["default_is_selected"]
    long = next(r for r in res["rows"] if r["point"] == "long")
    assert long["rates"] == {25: pytest.approx(90.0), 50: pytest.approx(75.0)}
    assert long["vs_chunk"][25]["difference"] == pytest.approx(40.0)
    assert long["vs_chunk"][25]["ci"][0] > 0  # 16 of 40 pairs flip, none the other way
    assert long["vs_incumbent"]["ci"][0] > 0 and long["vs_incumbent"]["n_pairs"] == 80
    lr_low = next(r for r in res["rows"] if r["point"] == "lr_low")
    assert lr_low["vs_chunk"][25]["ci"][0] <= 0  # two pairs are not a finding
    assert res["n_pairs"] == {25: 40, 50: 40} and res["seeds"] == [0, 1]
    text = md.read_text()
    assert "`long` **(selected)**" in text and "is **not** this setting" in text
    assert json.loads(js.read_text())["selected"] == "long"

    # Without `long`, `lr_low` has the highest mean but is within noise of the incumbent.
    res = wm_ft_report(files[:3], str(md), str(js), current={"lr": 2e-4, "steps": 200},
                       incumbent="base")
    assert res["selected"] == "base" and res["default_is_selected"]
    assert max(res["rows"], key=lambda r: r["mean"])["point"] == "lr_low"
    text = md.read_text()
    assert "`base` **(selected)**" in text and "no point is above the incumbent" in text
    assert "**is** this setting" in text


def test_the_incumbent_must_be_a_fine_tuned_point(tmp_path):
    files = [_point(tmp_path, NO_FINE_TUNING, {25: 20}), _point(tmp_path, "a", {25: 21}, {})]
    for incumbent in ("missing", NO_FINE_TUNING):
        with pytest.raises(ArtifactError, match=f"incumbent '{incumbent}' is not a fine-tuned"):
            wm_ft_report(files, str(tmp_path / "m.md"), str(tmp_path / "m.json"),
                         current={}, incumbent=incumbent)
    assert not (tmp_path / "m.md").exists()


def test_the_sweep_needs_the_chunk_point(tmp_path):
    files = [_point(tmp_path, "long", {25: 36}, {"steps": 2000})]
    with pytest.raises(ArtifactError, match="'chunk' point"):
        wm_ft_report(files, str(tmp_path / "m.md"), str(tmp_path / "m.json"), current={},
                     incumbent="long")
    assert not (tmp_path / "m.md").exists()


def test_the_sweep_grid_is_checked_point_by_point():
    """A point with a key policy.wm_ft lacks, a repeated name or no 'chunk' point is a config
    error naming it; a config file's grid replaces the default's (a list, never merged)."""
    from larc_core.config import ConfigError, check_config, load_config

    config = load_config("config/smoke.yaml")
    assert [p["name"] for p in config["wm_ft_sweep"]["grid"]] == ["chunk", "path2"]
    config["wm_ft_sweep"]["grid"] = [{"name": "chunk"}, {"name": "x", "overrides": {"stepz": 5}},
                                     {"name": "x"}]
    with pytest.raises(ConfigError) as err:
        check_config(config)
    assert "wm_ft_sweep.grid[1] ('x').overrides: unknown keys ['stepz']" in str(err.value)
    assert "repeated: ['x']" in str(err.value)
    config["wm_ft_sweep"]["grid"] = [{"name": "base"}]
    with pytest.raises(ConfigError, match="needs its point 'chunk'"):
        check_config(config)
    config["wm_ft_sweep"]["grid"] = [{"name": "chunk"}, {"name": "base"}]
    config["wm_ft_sweep"]["incumbent"] = "chunk"
    with pytest.raises(ConfigError, match="wm_ft_sweep.incumbent 'chunk' must name a fine-tuned"):
        check_config(config)
