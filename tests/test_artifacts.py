"""link_artifacts: published files are validated before they are linked."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from larc_core.artifacts import find_artifacts, link_artifacts
from larc_core.data import collect_demos
from larc_core.io import ArtifactError


def test_no_dir_links_nothing(tmp_path):
    doc = link_artifacts(None, tmp_path, tmp_path / "artifacts/manifest.json")
    assert doc["linked"] == {}
    assert (tmp_path / "artifacts/manifest.json").exists()


def test_missing_dir_and_empty_dir(tmp_path):
    with pytest.raises(ArtifactError, match="is not a folder"):
        find_artifacts(tmp_path / "nope")
    with pytest.raises(ArtifactError, match="none of the published files"):
        find_artifacts(tmp_path)


def test_policy_weights_need_their_stats(tmp_path):
    (tmp_path / "shared_policy_backbone.pt").write_bytes(b"x")
    with pytest.raises(ArtifactError, match="action_stats.pt"):
        find_artifacts(tmp_path)


def test_valid_data_is_linked(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    collect_demos(src / "pusht_expert_train.h5", n_episodes=2, min_len=20, max_len=20,
                  resolution=32, seed=0, workers=1, val_fraction=0.5, progress=False)
    root = tmp_path / "wf"
    doc = link_artifacts(src, root, root / "artifacts/manifest.json")
    link = root / "data/pusht_expert_train.h5"
    assert link.is_symlink() and link.resolve() == (src / "pusht_expert_train.h5").resolve()
    assert doc["linked"]["data"]["frames"] == 40


def test_wrong_shape_is_rejected_with_file_and_key(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    with h5py.File(src / "pusht_expert_train.h5", "w") as f:
        f["pixels"] = np.zeros((4, 32, 32, 4), np.uint8)
        f["action"] = np.zeros((4, 2), np.float32)
        f["state"] = np.zeros((4, 7), np.float32)
        f["proprio"] = np.zeros((4, 4), np.float32)
        f["episode_idx"] = np.zeros(4, np.int64)
        f["step_idx"] = np.arange(4)
        f["ep_len"] = np.array([4], np.int32)
        f["ep_offset"] = np.array([0], np.int64)
    root = tmp_path / "wf"
    with pytest.raises(ArtifactError, match=r"pusht_expert_train\.h5.*pixels|pixels.*pusht_expert"):
        link_artifacts(src, root, root / "artifacts/manifest.json")
    assert not (root / "data/pusht_expert_train.h5").exists()
    assert not (root / "artifacts/manifest.json").exists()


def test_corrupt_checkpoint_is_rejected(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "lewm_object.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(ArtifactError, match="lewm_object.ckpt"):
        link_artifacts(src, tmp_path / "wf", tmp_path / "wf/artifacts/manifest.json")
