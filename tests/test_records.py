"""Evaluation records read back by the table, the claims and the videos must say what their
place says: another row's, seed's or offset's record put in a file's place is refused, naming
both values, and so is a record whose checkpoint belongs to another stage or seed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from larc_core.evaluation.records import place_of, read_eval_record
from larc_core.evaluation.statistics import episode_outcomes
from larc_core.io import ArtifactError
from larc_core.reporting.results import load_results


def _record(method: str = "larc_idm", seed: int | None = 0, offset: int = 25,
            stage: str | None = "idm", meta_seed: int | None = 0) -> dict:
    doc = {"method": method, "label": method, "seed": seed, "offset": offset,
           "budget": 2 * offset, "pairs_sha256": "abc",
           "episodes": [{"start_row": 1, "goal_row": 1 + offset, "success": True}]}
    if stage is not None:
        doc["policy_meta"] = {"stage": stage, "seed": meta_seed}
    return doc


def _write(root: Path, rel: str, doc: dict) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def test_place_of_reads_the_workflows_layout():
    assert place_of("results/eval/larc_idm/seed2_h35.json") == {
        "method": "larc_idm", "seed": 2, "offset": 35}
    assert place_of("results/eval/draws/draw1/noop/h50.json") == {
        "method": "noop", "seed": None, "offset": 50}
    assert place_of("somewhere/my_run.json") is None


def test_a_record_in_its_own_place_is_read(tmp_path):
    path = _write(tmp_path, "results/eval/larc_idm/seed0_h25.json", _record())
    assert read_eval_record(path)["method"] == "larc_idm"
    assert len(load_results([path])) == 1
    noop = _write(tmp_path, "results/eval/noop/h25.json", _record("noop", None, stage=None))
    assert read_eval_record(noop)["seed"] is None


@pytest.mark.parametrize("rel, doc, message", [
    ("results/eval/larc_chunk/seed0_h25.json", _record(),
     "records method 'larc_idm', but its place says 'larc_chunk'"),
    ("results/eval/larc_idm/seed1_h25.json", _record(), "records seed 0, but its place says 1"),
    ("results/eval/larc_idm/seed0_h50.json", _record(), "records offset 25, but its place says 50"),
    ("results/eval/larc_idm/seed0_h25.json", _record(stage="chunk"),
     "labelled larc_idm but ran a checkpoint of stage 'chunk'"),
    ("results/eval/larc_idm/seed0_h25.json", _record(meta_seed=2),
     "records seed 0 but ran a checkpoint trained with seed 2"),
])
def test_the_table_and_the_claims_refuse_a_record_that_disagrees(tmp_path, rel, doc, message):
    path = _write(tmp_path, rel, doc)
    for read in (load_results, episode_outcomes):
        with pytest.raises(ArtifactError, match=message):
            read([path])
