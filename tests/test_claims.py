"""The claims report: paired differences, intervals, p-values, power and verdicts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from larc_core.evaluation.statistics import paired_difference, verdict
from larc_core.io import ArtifactError
from larc_core.reporting.claims import (
    README_BEGIN,
    README_END,
    evaluate_claims,
    readme_markers,
    render_claims,
    update_readme_claims,
)


def _outcomes(successes, seeds=1):
    return {(i, i + 25): [float(s)] * seeds for i, s in enumerate(successes)}


def test_paired_difference_of_known_outcomes():
    a = _outcomes([1] * 60 + [0] * 40)
    b = _outcomes([1] * 40 + [0] * 60)
    res = paired_difference(a, b)
    assert res["n_pairs"] == 100 and res["difference"] == pytest.approx(20.0)
    assert res["a_rate"] == pytest.approx(60) and res["b_rate"] == pytest.approx(40)
    assert res["discordant"] == 20
    assert 10 < res["ci"][0] < 20 < res["ci"][1] < 30
    assert res["p_value"] < 1e-3 and verdict(res["ci"], res["p_value"], +1) == "holds"
    assert verdict(res["ci"], res["p_value"], -1) == "reversed"
    same = paired_difference(a, a)
    assert same["difference"] == 0 and same["ci"] == [0, 0] and same["p_value"] == 1.0
    assert verdict(same["ci"], same["p_value"], +1) == "not detectable at this size"
    # No discordant pair is no evidence of power: floored at what a 10-point gap needs.
    assert same["power_10"] == pytest.approx(paired_difference(a, b)["power_10"], abs=0.35)
    assert same["power_10"] < 1.0


def test_few_discordant_pairs_are_not_a_finding():
    """4 of 50 pairs differ, all in A's favour: the bootstrap interval alone excludes zero,
    but the sign-flip test does not (p about 0.12): the verdict waits for both."""
    a = _outcomes([1] * 4 + [0] * 46)
    b = _outcomes([0] * 50)
    res = paired_difference(a, b)
    assert res["ci"][0] > 0 and res["p_value"] > 0.05
    assert verdict(res["ci"], res["p_value"], +1) == "not detectable at this size"


def test_seed_spread_widens_the_interval():
    """Two seeds of A that disagree on every pair: resampling seeds widens the interval over
    one that treats the seed average as fixed."""
    steady = {k: [0.5, 0.5] for k in _outcomes([0] * 100)}
    split = {k: [1.0, 0.0] for k in _outcomes([0] * 100)}
    base = _outcomes([0] * 100, seeds=2)
    wide, narrow = paired_difference(split, base), paired_difference(steady, base)
    assert wide["difference"] == narrow["difference"] == pytest.approx(50)
    assert wide["ci"][1] - wide["ci"][0] > narrow["ci"][1] - narrow["ci"][0] + 20


def test_pairing_beats_unpaired_comparison():
    """Two rows that differ on 12 of 100 pairs, always in A's favour: paired, the interval
    excludes zero although the two rates' own intervals would overlap."""
    rng = np.random.default_rng(0)
    base = rng.random(100) < 0.6
    better = base.copy()
    better[np.flatnonzero(~base)[:12]] = True
    res = paired_difference(_outcomes(better), _outcomes(base))
    assert res["difference"] == pytest.approx(12.0) and res["ci"][0] > 0


def test_only_shared_pairs_are_compared_and_power_grows_with_pairs():
    a = _outcomes([1, 0] * 50, seeds=3)
    b = {k: v[:1] for i, (k, v) in enumerate(_outcomes([0, 0] * 50).items()) if i < 50}
    res = paired_difference(a, b)
    assert res["n_pairs"] == 50
    small = paired_difference(_outcomes([1, 0] * 10), _outcomes([0, 1] * 10))
    big = paired_difference(_outcomes([1, 0] * 100), _outcomes([0, 1] * 100))
    assert small["power_10"] < big["power_10"]
    with pytest.raises(ArtifactError, match="share no start/goal pair"):
        paired_difference(_outcomes([1]), {(99, 124): [1.0]})


def _write_eval(folder, method, name, successes):
    (folder / method).mkdir(parents=True, exist_ok=True)
    episodes = [{"start_row": i, "goal_row": i + 25, "success": bool(s)}
                for i, s in enumerate(successes)]
    (folder / method / name).write_text(json.dumps({**_identity(folder / method / name),
                                                    "episodes": episodes}))


def _identity(path):
    """The method, seed and offset a record at ``path`` must hold (its place)."""
    from larc_core.evaluation.records import place_of

    return place_of(path) or {}


def test_claims_report_reads_the_rows_files(tmp_path, monkeypatch):
    ev = tmp_path / "eval"
    for seed in (0, 1):
        _write_eval(ev, "larc_chunk", f"seed{seed}_h25.json", [1] * 30 + [0] * 10)
        _write_eval(ev, "larc_idm", f"seed{seed}_h25.json", [1] * 20 + [0] * 20)
    _write_eval(ev, "cem_commit5", "h25.json", [1] * 5 + [0] * 15)  # first 20 pairs only
    latency = tmp_path / "latency.json"
    latency.write_text(json.dumps({"methods": {
        "larc_chunk": {"decision": {"median_ms": 0.1}, "per_env_step": {"median_ms": 1.0}},
        "cem_commit5": {"decision": {"median_ms": 100.0}, "per_env_step": {"median_ms": 20.0}},
    }}))
    claims = [{"name": "Chunk beats IDM", "a": "larc_chunk", "b": "larc_idm"},
              {"name": "LARC beats CEM", "a": "larc_chunk", "b": "cem_commit5",
               "latency": True}]
    res = evaluate_claims(claims, ev, [0, 1], [25], latency)
    chunk, cem = res["claims"]
    assert chunk["offsets"][0]["difference"] == pytest.approx(25.0)
    assert chunk["offsets"][0]["verdict"] == "holds"
    assert chunk["offsets"][0]["episodes_a"] == 80
    assert cem["offsets"][0]["n_pairs"] == 20
    assert cem["offsets"][0]["difference"] == pytest.approx(75.0)
    assert cem["latency"]["ratio_env_step"] == pytest.approx(0.05)
    assert cem["latency"]["verdict"] == "holds"
    md = render_claims(res)
    assert "| Chunk beats IDM | +25.0 [" in md and "**holds**" in md
    (tmp_path / "claims.json").write_text(json.dumps(res))
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{README_BEGIN}\nold\n{README_END}\noutro\n")
    assert update_readme_claims(readme, tmp_path / "claims.json")
    text = readme.read_text()
    assert "\nold\n" not in text and "*Chunk beats IDM*" in text and text.endswith("outro\n")
    assert not update_readme_claims(readme, tmp_path / "claims.json")
    # A named block (another data regime's claims) has markers of its own.
    with pytest.raises(ArtifactError, match="no generated claims block.*claims other"):
        update_readme_claims(readme, tmp_path / "claims.json", block="other")
    begin, end = readme_markers(tmp_path / "claims.json", "other")
    readme.write_text(text + f"{begin}\nstale\n{end}\n")
    assert update_readme_claims(readme, tmp_path / "claims.json", block="other")
    assert readme.read_text().count("*Chunk beats IDM*") == 2 and "stale" not in readme.read_text()
    # The block is found by its name however its path is spelled.
    monkeypatch.chdir(tmp_path)
    assert update_readme_claims(readme, "./claims.json", block="other")  # opening line rewritten
    assert readme_markers("claims.json", "other")[0] in readme.read_text()
    assert not update_readme_claims(readme, "claims.json", block="other")
    with pytest.raises(ArtifactError, match="nowhere.*No such file"):
        evaluate_claims(claims[:1], tmp_path / "nowhere", [0], [25])


def test_a_claim_whose_row_is_not_evaluated_is_listed_not_tested():
    """A run restricted to some rows tests the claims it can and lists the others; a claim
    naming no results-table row is a config error naming it."""
    from larc_core import settings
    from larc_core.config import ConfigError, check_config, load_config

    config = load_config("config/smoke.yaml")
    config["eval"]["methods"] = ["larc_chunk", "larc_idm", "noop"]
    s = settings.claims(config)
    assert [c["a"] for c in s["claims"]] == ["larc_chunk"]
    assert s["skipped"] == [{"name": "LARC beats CEM planning on the same world model",
                             "missing": ["cem_commit5", "larc_chunk_wm_ft"]}]
    md = render_claims({"claims": [], "skipped": s["skipped"], "offsets": [25],
                        "resamples": 10, "power_effect": 10})
    assert "not tested: cem_commit5, larc_chunk_wm_ft not in eval.methods" in md
    config["claims"][0]["b"] = "larc_idmm"
    with pytest.raises(ConfigError, match=r"claims\[0\]\.b \('larc_idmm'.*results-table row"):
        check_config(config)


def _draw_file(path, successes, first_row):
    """An evaluation file of one seed: pair i starts at ``first_row + i``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**_identity(path), "episodes": [
        {"start_row": first_row + i, "goal_row": first_row + i + 25, "success": bool(s)}
        for i, s in enumerate(successes)]}))
    return str(path)


def test_pair_draw_check_agrees_on_similar_draws_and_flags_a_distant_one(tmp_path):
    from larc_core.reporting.pair_draws import compare_draws, pair_draw_report

    rng = np.random.default_rng(0)
    table = [_draw_file(tmp_path / f"t{s}.json", rng.random(100) < 0.7, 0) for s in range(3)]
    near = [_draw_file(tmp_path / f"n{s}.json", rng.random(100) < 0.66, 1000) for s in range(3)]
    far = [_draw_file(tmp_path / f"f{s}.json", rng.random(100) < 0.4, 2000) for s in range(3)]
    same = compare_draws(table, near)
    assert same["verdict"] == "agree" and same["table"]["n_pairs"] == 100
    assert same["table"]["episodes"] == 300
    assert same["ci"][0] <= same["difference"] <= same["ci"][1]
    apart = compare_draws(table, far)
    assert apart["verdict"] == "differ" and apart["ci"][1] < 0
    doc = pair_draw_report({"larc_idm": {"h25": table, "draw43_h25": near, "draw44_h25": far}},
                           str(tmp_path / "d.md"), str(tmp_path / "d.json"), eval_seed=42)
    assert [(r["draw_seed"], r["verdict"]) for r in doc["rows"]] == [(43, "agree"),
                                                                      (44, "differ")]
    assert not doc["all_agree"] and "**differs** between draws" in (tmp_path / "d.md").read_text()
    with pytest.raises(ArtifactError, match="no row to compare"):
        pair_draw_report({"larc_idm": {"h25": table}}, str(tmp_path / "e.md"),
                         str(tmp_path / "e.json"), eval_seed=42)
    assert not (tmp_path / "e.md").exists()
