"""LeWM checkpoints behind the WorldModel interface: the published state-dict layout (fixture),
both ViT namings, object checkpoints, clear errors, and the wrapper's own preprocessing."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from torch import nn

from larc_core.config import load_config
from larc_core.io import ArtifactError
from larc_core.world_model import (
    LARC_ONLY_KEYS,
    WorldModel,
    WorldModelConfig,
    WorldModelTrainConfig,
    import_lewm_checkpoint,
    load_lewm_world_model,
    load_world_model,
    read_lewm_state_dict,
)
from larc_core.world_model.model import IMAGENET_MEAN, IMAGENET_STD

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "lewm_pusht_state_dict.json").read_text())
DTYPES = {"float32": torch.float32, "int64": torch.int64}


def fixture_state_dict(layout: str = "keys", seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors with the fixture's names, shapes and dtypes (``keys`` or the encoder's
    ``encoder_alt_keys`` naming combined with the shared non-encoder keys)."""
    g = torch.Generator().manual_seed(seed)
    entries = [tuple(e) for e in FIXTURE["keys"]]
    if layout == "encoder_alt_keys":
        entries = [tuple(e) for e in FIXTURE["encoder_alt_keys"]] + [
            e for e in entries if not e[0].startswith("encoder.")]
    sd = {}
    for name, shape, dtype in entries:
        if DTYPES[dtype].is_floating_point:
            sd[name] = 0.05 * torch.randn(shape, generator=g)
            if "running_var" in name:
                sd[name] = sd[name].abs() + 0.5
        else:
            sd[name] = torch.randint(0, 1000, shape, generator=g, dtype=DTYPES[dtype])
    return sd


def frames(*lead: int, size: int = 224) -> torch.Tensor:
    return torch.randint(0, 256, (*lead, size, size, 3), dtype=torch.uint8)


class JEPA(nn.Module):
    """Stand-in for LeWM's pickled module: same submodule names, so the same state-dict keys."""

    def __init__(self) -> None:
        super().__init__()
        src = WorldModel(WorldModelConfig.paper())
        self.encoder, self.predictor = src.encoder, src.predictor
        self.action_encoder, self.projector, self.pred_proj = (
            src.action_encoder, src.projector, src.pred_proj)


# ------------------------------------------------------------------------- fixture layout
def test_fixture_matches_the_paper_model():
    assert FIXTURE["num_tensors"] == len(FIXTURE["keys"]) == 303
    model = WorldModel(WorldModelConfig.paper())
    sd = model.state_dict()
    ours = {k: (list(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in sd.items()
            if k not in LARC_ONLY_KEYS}
    assert ours == {k: (shape, dtype) for k, shape, dtype in FIXTURE["keys"]}
    assert sum(p.numel() for p in model.parameters()) == FIXTURE["num_parameters"]
    assert len(list(model.parameters())) == FIXTURE["num_parameter_tensors"]
    assert len(list(model.buffers())) - len(LARC_ONLY_KEYS) - 2 == FIXTURE["num_buffers"]  # - pixel stats


@pytest.mark.parametrize("layout", ["keys", "encoder_alt_keys"])
def test_fixture_state_dict_loads_strictly_then_encodes_and_predicts(tmp_path, layout):
    sd = fixture_state_dict(layout)
    path = tmp_path / "weights.pt"
    torch.save(sd, path)
    model = load_lewm_world_model(path)  # paper size by default; frozen, eval mode
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    loaded = model.state_dict()
    assert set(loaded) - set(LARC_ONLY_KEYS) == {k for k, _, _ in FIXTURE["keys"]}
    if layout == "keys":
        for k, v in sd.items():
            assert torch.equal(loaded[k], v), k
    else:
        assert len(FIXTURE["encoder_alt_keys"]) == 198
        for k in (k for k in sd if not k.startswith("encoder.")):
            assert torch.equal(loaded[k], sd[k]), k
        q = sd["encoder.layers.4.attention.q_proj.weight"]
        assert torch.equal(loaded["encoder.encoder.layer.4.attention.attention.query.weight"], q)
        fc2 = sd["encoder.layers.11.mlp.fc2.bias"]
        assert torch.equal(loaded["encoder.encoder.layer.11.output.dense.bias"], fc2)

    with torch.no_grad():
        z = model.encode(frames(2, 3))
        assert z.shape == (2, 3, 192) and torch.isfinite(z).all()
        pred = model.predict(z, torch.randn(2, 3, 10))
        assert pred.shape == (2, 3, 192) and torch.isfinite(pred).all()
        assert model.rollout(z[:, :1], torch.randn(2, 4, 10)).shape == (2, 4, 192)


def test_mismatching_state_dict_lists_missing_unexpected_and_misshaped(tmp_path):
    sd = fixture_state_dict()
    del sd["predictor.pos_embedding"]
    sd["predictor.extra_head.weight"] = torch.zeros(3)
    sd["action_encoder.embed.2.weight"] = torch.zeros(192, 100)
    path = tmp_path / "weights.pt"
    torch.save(sd, path)
    with pytest.raises(ArtifactError) as err:
        load_lewm_world_model(path)
    msg = str(err.value)
    assert str(path) in msg
    assert "missing keys (1): ['predictor.pos_embedding']" in msg
    assert "unexpected keys (1): ['predictor.extra_head.weight']" in msg
    assert "action_encoder.embed.2.weight: expected [192, 768], got [192, 100]" in msg
    # A file for another model size says which config it needs.
    with pytest.raises(ArtifactError, match="paper-size model"):
        load_lewm_world_model(fixture_state_dict(), WorldModelConfig())


def test_wrapper_prefixes_and_lightning_checkpoints_are_unwrapped(tmp_path):
    sd = fixture_state_dict()
    path = tmp_path / "lewm_weights.ckpt"
    torch.save({"state_dict": {f"model._orig_mod.{k}": v for k, v in sd.items()}, "epoch": 3},
               path)
    loaded = read_lewm_state_dict(path)
    assert loaded.keys() == sd.keys()
    assert torch.equal(loaded["predictor.pos_embedding"], sd["predictor.pos_embedding"])


# ----------------------------------------------------------------------- object checkpoints
def test_object_checkpoint_loads_when_its_classes_import(tmp_path):
    torch.manual_seed(1)
    jepa = JEPA()
    path = tmp_path / "lewm_object.ckpt"
    torch.save(jepa, path)  # the whole module, pickled by reference to this test module's class
    model = load_lewm_world_model(path)
    expected = jepa.state_dict()
    loaded = model.state_dict()
    for k, v in expected.items():
        assert torch.equal(loaded[k], v), k


def test_object_checkpoint_without_its_classes_says_how_to_get_weights(tmp_path, monkeypatch):
    fake = types.ModuleType("lewm_original_source")

    class Gone(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.Linear(2, 2)

    Gone.__module__, Gone.__qualname__ = "lewm_original_source", "Gone"
    fake.Gone = Gone
    monkeypatch.setitem(sys.modules, "lewm_original_source", fake)
    path = tmp_path / "lewm_object.ckpt"
    torch.save(Gone(), path)
    monkeypatch.delitem(sys.modules, "lewm_original_source")  # the class is no longer importable
    with pytest.raises(ArtifactError) as err:
        read_lewm_state_dict(path)
    msg = str(err.value)
    assert str(path) in msg and "lewm_original_source" in msg
    assert "weights.pt" in msg and "m.state_dict()" in msg


def test_corrupt_files_are_named(tmp_path):
    for name in ("weights.pt", "lewm_object.ckpt"):
        bad = tmp_path / name
        bad.write_bytes(b"not a checkpoint")
        with pytest.raises(ArtifactError, match=name):
            read_lewm_state_dict(bad)
    with pytest.raises(ArtifactError, match="not found"):
        read_lewm_state_dict(tmp_path / "missing_object.ckpt")


# ------------------------------------------------------------- preprocessing in the wrapper
def test_wrapper_normalises_and_resizes_pixels_itself():
    model = WorldModel(WorldModelConfig.paper()).eval()
    color = torch.tensor([30, 128, 250], dtype=torch.uint8)
    flat224 = color.expand(1, 224, 224, 3).contiguous()
    x = model.preprocess(flat224)
    assert x.shape == (1, 3, 224, 224)
    want = (color.float() / 255 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    torch.testing.assert_close(x[0, :, 100, 100], want)
    # Any other size is resized to the ViT's 224 px by the wrapper (not by the caller).
    with torch.no_grad():
        z224 = model.encode(flat224)
        z96 = model.encode(color.expand(1, 96, 96, 3).contiguous())
        z512 = model.encode(color.expand(1, 512, 512, 3).contiguous())
    torch.testing.assert_close(z96, z224, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(z512, z224, rtol=1e-4, atol=1e-5)
    assert model.preprocess(frames(2, size=96)).shape == (2, 3, 224, 224)
    # Models without resize_input keep rejecting other sizes.
    small = WorldModel(WorldModelConfig(image_size=32, cnn_channels=(8,), latent_dim=8))
    with pytest.raises(ValueError, match="resize_input"):
        small.encode(frames(1, size=64))


def write_lewm_file(path: Path, actions: np.ndarray, ep_len: list[int], res: int = 224) -> Path:
    n = int(sum(ep_len))
    state = np.zeros((n, 7), np.float32)
    with h5py.File(path, "w") as f:
        f["pixels"] = np.zeros((n, res, res, 3), np.uint8)
        f["action"] = actions.astype(np.float32)
        f["state"] = state
        f["proprio"] = state[:, [0, 1, 5, 6]]
        f["episode_idx"] = np.repeat(np.arange(len(ep_len)), ep_len).astype(np.int64)
        f["step_idx"] = np.concatenate([np.arange(t) for t in ep_len]).astype(np.int64)
        f["ep_len"] = np.asarray(ep_len, np.int32)
        f["ep_offset"] = np.concatenate([[0], np.cumsum(ep_len)[:-1]]).astype(np.int64)
    return path


def test_import_fits_action_zscoring_and_the_wrapper_applies_it(tmp_path):
    rng = np.random.default_rng(0)
    actions = rng.normal([0.3, -0.2], [0.5, 2.0], size=(12, 2))
    actions[[4, 11]] = np.nan  # episode-final rows: no action leaves them
    demo = write_lewm_file(tmp_path / "pusht_expert_train.h5", actions, [5, 7])
    torch.save(fixture_state_dict(), tmp_path / "weights.pt")
    meta = import_lewm_checkpoint(tmp_path / "weights.pt", demo, tmp_path / "wm.pt")
    keep = np.delete(actions, [4, 11], axis=0)
    np.testing.assert_allclose(meta["action_mean"], keep.mean(0), rtol=1e-5)
    np.testing.assert_allclose(meta["action_std"], keep.std(0), rtol=1e-5)

    model = load_world_model(tmp_path / "wm.pt")
    assert model.cfg == WorldModelConfig.paper() and model.meta["source"] == "lewm"
    raw = torch.as_tensor(rng.normal(size=(2, 3, 10)), dtype=torch.float32)
    z = torch.randn(2, 3, 192)
    mean = torch.tensor(np.tile(keep.mean(0), 5), dtype=torch.float32)
    std = torch.tensor(np.tile(keep.std(0), 5), dtype=torch.float32)
    with torch.no_grad():
        got = model.predict(z, raw)
        emb = model.action_encoder((raw - mean) / std)  # what LeWM feeds its predictor
        want = model.pred_proj(model.predictor(z, emb).reshape(6, 192)).reshape(2, 3, 192)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)

    # Importing for a config the checkpoint does not fit fails before writing anything.
    with pytest.raises(ArtifactError, match="missing keys"):
        import_lewm_checkpoint(tmp_path / "weights.pt", demo, tmp_path / "cnn.pt",
                               WorldModelConfig().to_dict())
    assert not (tmp_path / "cnn.pt").exists()


# --------------------------------------------------------------------------- paper config
def test_paper_config_builds_the_published_model_and_trains_one_step():
    cfg = load_config(REPO / "config" / "paper.yaml")
    model_cfg = WorldModelConfig.from_dict(cfg["world_model"]["model"])
    assert model_cfg == WorldModelConfig.paper()
    assert (model_cfg.image_size, model_cfg.latent_dim, model_cfg.depth, model_cfg.history,
            model_cfg.frameskip) == (224, 192, 6, 3, 5)
    train = WorldModelTrainConfig.from_dict(cfg["world_model"]["train"])
    assert (train.lr, train.weight_decay, train.batch_size, train.grad_clip,
            train.sigreg_weight, train.sigreg_directions) == (5e-5, 1e-3, 128, 1.0, 0.09, 1024)
    assert cfg["eval"]["n_episodes"] == 50 and cfg["data"]["resolution"] == 224
    assert cfg["device"] in ("cuda", "auto")

    torch.manual_seed(0)
    model = WorldModel(model_cfg).train()
    assert sum(p.numel() for p in model.parameters()) == FIXTURE["num_parameters"]
    opt = torch.optim.AdamW(model.parameters(), lr=train.lr, weight_decay=train.weight_decay)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    losses = model.loss(frames(2, 4), torch.randn(2, 4, 10), train.sigreg_weight, 64,
                        torch.Generator().manual_seed(0))
    assert all(torch.isfinite(v) for v in losses.values())
    opt.zero_grad()
    losses["total"].backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), train.grad_clip)
    opt.step()
    changed = [k for k, v in model.named_parameters() if not torch.equal(v, before[k])]
    assert any(k.startswith("encoder.embeddings") for k in changed)
    assert any(k.startswith("predictor.transformer.layers.5") for k in changed)
    assert any(k.startswith("action_encoder") for k in changed)
