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


def test_corrupt_linked_weights_say_no_rule_builds_them(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "weights.pt").write_bytes(b"\x80\x04 cut short")
    with pytest.raises(ArtifactError, match="weights.pt") as info:
        link_artifacts(src, tmp_path / "wf", tmp_path / "wf/artifacts/manifest.json")
    assert "no rule builds" in str(info.value) and "rerun the rule" not in str(info.value)


# ------------------------------------------------------------------ LeWM world-model files
def _lewm_weights(path, drop: str | None = None) -> None:
    """A paper-size state dict in LeWM's layout (no LARC action statistics)."""
    import torch

    from larc_core.world_model import LARC_ONLY_KEYS, WorldModel, WorldModelConfig

    sd = {k: v for k, v in WorldModel(WorldModelConfig.paper()).state_dict().items()
          if k not in LARC_ONLY_KEYS and k != drop}
    torch.save(sd, path)


PAPER_MODEL = {"encoder": "vit", "image_size": 224, "resize_input": True, "vit_patch": 14,
               "vit_hidden": 192, "vit_layers": 12, "vit_heads": 3, "vit_mlp": 768,
               "latent_dim": 192, "projector_hidden": 2048, "action_dim": 2, "frameskip": 5,
               "action_embed_hidden": 768, "history": 3, "depth": 6, "heads": 16,
               "head_dim": 64, "mlp_dim": 2048, "dropout": 0.1}


def test_lewm_weights_are_checked_and_linked_under_their_name(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    _lewm_weights(src / "weights.pt")
    (src / "lewm_object.ckpt").write_bytes(b"a pickled module; the plain weights win")
    root = tmp_path / "wf"
    doc = link_artifacts(src, root, root / "artifacts/manifest.json", PAPER_MODEL)
    entry = doc["linked"]["world_model"]
    assert entry["target"] == "external/weights.pt" and entry["format"] == "lewm-state-dict"
    assert entry["parameters"] == 18_034_478 and entry["tensors"] == 303
    assert (root / "external/weights.pt").resolve() == (src / "weights.pt").resolve()
    assert not (root / "external/lewm_object.ckpt").exists()


def test_published_checkpoint_names_are_found(tmp_path):
    for name in ("weights.pt", "pusht_weights.pt", "lejepa_weights.ckpt", "lewm_object.ckpt",
                 "lejepa_object.ckpt"):
        folder = tmp_path / name.replace(".", "_")
        folder.mkdir()
        (folder / name).write_bytes(b"x")
        assert find_artifacts(folder)["world_model"].name == name


def test_lewm_weights_that_do_not_fit_are_rejected_before_linking(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    _lewm_weights(src / "weights.pt", drop="predictor.pos_embedding")
    root = tmp_path / "wf"
    with pytest.raises(ArtifactError, match=r"weights\.pt.*missing keys.*predictor\.pos_embedding"):
        link_artifacts(src, root, root / "artifacts/manifest.json", PAPER_MODEL)
    assert not (root / "external").exists() and not (root / "artifacts/manifest.json").exists()
    # A complete LeWM file against the CPU-scale config: the error says which config it needs.
    _lewm_weights(src / "weights.pt")
    cpu_model = {"encoder": "cnn", "image_size": 64, "latent_dim": 64, "frameskip": 5,
                 "history": 3}
    with pytest.raises(ArtifactError, match="config/paper.yaml"):
        link_artifacts(src, root, root / "artifacts/manifest.json", cpu_model)


def test_data_resolution_must_match_the_world_model(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    collect_demos(src / "pusht_expert_train.h5", n_episodes=2, min_len=20, max_len=20,
                  resolution=32, seed=0, workers=1, val_fraction=0.5, progress=False)
    root = tmp_path / "wf"
    with pytest.raises(ArtifactError, match=r"32 px frames but world_model\.model\.image_size is 224"):
        link_artifacts(src, root, root / "artifacts/manifest.json", PAPER_MODEL)
    assert not (root / "data").exists()


def test_packed_download_gets_unpack_instructions(tmp_path):
    (tmp_path / "pusht_expert_train.h5.zst").write_bytes(b"zstd frame")
    with pytest.raises(ArtifactError, match=r"zstd -d .*pusht_expert_train\.h5\.zst"):
        find_artifacts(tmp_path)
