"""World model: config, LeWM checkpoint layout, shapes, gradients, SIGReg, training, checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from larc_core.engine import loop
from larc_core.io import ArtifactError
from larc_core.world_model import (
    LARC_ONLY_KEYS,
    WorldModel,
    WorldModelConfig,
    WorldModelConfigError,
    WorldModelTrainConfig,
    load_lewm_weights,
    load_world_model,
    save_world_model,
    train_world_model,
    world_model_fingerprint,
)
from larc_core.world_model.sigreg import sigreg

torch.set_num_threads(1)  # the test machine is shared: avoid OpenMP contention

FIXTURE = Path(__file__).parent / "fixtures" / "lewm_pusht_state_dict.json"
RES = 32


def tiny_cfg(**kw) -> WorldModelConfig:
    base = dict(image_size=RES, cnn_channels=(8, 16), latent_dim=32, projector_hidden=64,
                action_embed_hidden=32, history=3, depth=1, heads=2, head_dim=8, mlp_dim=64,
                dropout=0.1)
    base.update(kw)
    return WorldModelConfig(**base)


# --------------------------------------------------------------------------- synthetic data
def write_synthetic_demo(path: Path, n_episodes: int = 4, ep_len: int = 30, res: int = RES,
                         seed: int = 0) -> Path:
    """LeWM-layout HDF5 where a bright square moves by the recorded relative actions."""
    rng = np.random.default_rng(seed)
    n = n_episodes * ep_len
    pixels = np.zeros((n, res, res, 3), dtype=np.uint8)
    action = rng.uniform(-1, 1, size=(n, 2)).astype(np.float32)
    state = np.zeros((n, 7), dtype=np.float32)
    for e in range(n_episodes):
        pos = rng.uniform(8, res - 8, size=2)
        for s in range(ep_len):
            r = e * ep_len + s
            x, y = pos.astype(int)
            pixels[r, y - 3:y + 3, x - 3:x + 3] = (255, 128, 0)
            state[r, :2] = pos
            pos = np.clip(pos + 1.5 * action[r], 4, res - 4)
        action[e * ep_len + ep_len - 1] = 0.0  # no action leaves an episode's last frame
    with h5py.File(path, "w") as f:
        f["pixels"] = pixels
        f["action"] = action
        f["state"] = state
        f["proprio"] = state[:, [0, 1, 5, 6]]
        f["episode_idx"] = np.repeat(np.arange(n_episodes), ep_len).astype(np.int64)
        f["step_idx"] = np.tile(np.arange(ep_len), n_episodes).astype(np.int64)
        f["ep_len"] = np.full(n_episodes, ep_len, dtype=np.int32)
        f["ep_offset"] = (np.arange(n_episodes) * ep_len).astype(np.int64)
        f["episode_split"] = (np.arange(n_episodes) == n_episodes - 1).astype(np.int8)
    return path


@pytest.fixture
def demo(tmp_path) -> Path:
    return write_synthetic_demo(tmp_path / "demo.h5")


def fast_train_cfg(**kw) -> WorldModelTrainConfig:
    base = dict(steps=6, batch_size=8, lr=2e-3, warmup_steps=2, sigreg_directions=64,
                checkpoint_every=2, log_every=2, val_max_windows=16)
    base.update(kw)
    return WorldModelTrainConfig(**base)


def trained_like(cfg: WorldModelConfig | None = None) -> WorldModel:
    """A model whose AdaLN-zero layers are no longer zero (as after training)."""
    torch.manual_seed(0)
    model = WorldModel(cfg or tiny_cfg())
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model


def uint8_frames(*shape) -> torch.Tensor:
    return torch.randint(0, 256, (*shape, 3), dtype=torch.uint8)


# ------------------------------------------------------------------------------------ config
def test_config_round_trip_and_field_errors():
    for cfg in (WorldModelConfig.cpu_default(), WorldModelConfig.paper(), tiny_cfg()):
        assert WorldModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(WorldModelConfigError, match="depth"):
        WorldModelConfig.from_dict({"depth": 0})
    with pytest.raises(WorldModelConfigError, match="bogus"):
        WorldModelConfig.from_dict({"bogus": 1})
    with pytest.raises(WorldModelConfigError, match="encoder"):
        WorldModelConfig.from_dict({"encoder": "resnet"})
    with pytest.raises(WorldModelConfigError, match="vit_patch"):
        WorldModelConfig(encoder="vit", image_size=100)
    with pytest.raises(WorldModelConfigError, match="lr"):
        WorldModelTrainConfig.from_dict({"lr": 0})
    assert WorldModelTrainConfig().frames_per_window(tiny_cfg()) == 4


# ------------------------------------------------------------------- LeWM checkpoint layout
def test_paper_model_matches_lewm_checkpoint_layout():
    fixture = json.loads(FIXTURE.read_text())
    model = WorldModel(WorldModelConfig.paper())
    ours = {k: list(v.shape) for k, v in model.state_dict().items() if k not in LARC_ONLY_KEYS}
    assert list(ours) == [k for k, _, _ in fixture["keys"]]
    assert ours == {k: shape for k, shape, _ in fixture["keys"]}
    assert sum(p.numel() for p in model.parameters()) == fixture["num_parameters"] == 18_034_478

    # A LeWM state dict (either ViT naming) loads strictly; a broken one is reported by key.
    lewm = {k: torch.full(shape, 0.5) for k, shape, _ in fixture["keys"]}
    load_lewm_weights(model, lewm)
    assert torch.all(model.encoder.layernorm.weight == 0.5)
    alt = {k: torch.full(s, 0.25) for k, s, _ in fixture["encoder_alt_keys"]}
    alt.update({k: v for k, v in lewm.items() if not k.startswith("encoder.")})
    load_lewm_weights(model, alt)
    assert torch.all(model.encoder.encoder.layer[3].intermediate.dense.weight == 0.25)
    del lewm["predictor.pos_embedding"]
    lewm["extra.weight"] = torch.zeros(1)
    with pytest.raises(ArtifactError, match="predictor.pos_embedding") as err:
        load_lewm_weights(model, lewm)
    assert "extra.weight" in str(err.value)


def test_paper_model_encodes_224px():
    model = WorldModel(WorldModelConfig.paper()).eval()
    with torch.no_grad():
        z = model.encode(uint8_frames(1, 224, 224))
    assert z.shape == (1, 192)


# ---------------------------------------------------------------------------------- shapes
def test_encode_predict_rollout_shapes():
    cfg = tiny_cfg()
    model = WorldModel(cfg).eval()
    b, t, d, a = 2, 3, cfg.latent_dim, cfg.action_block_dim
    z = model.encode(uint8_frames(b, t, RES, RES))
    assert z.shape == (b, t, d) and z.dtype == torch.float32
    assert model.encode(uint8_frames(b, RES, RES)).shape == (b, d)
    assert model.encode(uint8_frames(b, RES, RES).numpy()).shape == (b, d)
    assert model.predict(z, torch.randn(b, t, a)).shape == (b, t, d)
    assert model.rollout(z[:, :1], torch.randn(b, 7, a)).shape == (b, 7, d)
    assert model.rollout(z, torch.randn(b, 2, a), torch.randn(b, t - 1, a)).shape == (b, 2, d)


def test_input_errors_are_specific():
    model = WorldModel(tiny_cfg()).eval()
    with pytest.raises(TypeError, match="uint8"):
        model.encode(torch.rand(1, RES, RES, 3))
    with pytest.raises(ValueError, match="image_size 32"):
        model.encode(uint8_frames(1, 64, 64))
    with pytest.raises(ValueError, match="action_blocks"):
        model.predict(torch.randn(1, 3, 32), torch.randn(1, 3, 4))
    with pytest.raises(ValueError, match="history"):
        model.predict(torch.randn(1, 4, 32), torch.randn(1, 4, 10))


def test_predict_is_causal_and_rollout_consistent():
    model = trained_like().eval()
    z, a = torch.randn(2, 3, 32), torch.randn(2, 3, 10)
    out = model.predict(z, a)
    z2 = z.clone()
    z2[:, 2] += torch.randn(2, 32)  # (a constant shift would vanish in the LayerNorms)
    out2 = model.predict(z2, a)
    torch.testing.assert_close(out[:, :2], out2[:, :2])
    assert not torch.allclose(out[:, 2], out2[:, 2])
    # rollout step 1 from a full history equals the last teacher-forced prediction
    roll = model.rollout(z, a[:, 2:], history_actions=a[:, :2])
    torch.testing.assert_close(roll[:, 0], out[:, 2])


def test_rollout_gradient_reaches_actions_only():
    model = trained_like().freeze()
    for p in model.parameters():
        assert not p.requires_grad
    assert not model.training
    actions = torch.randn(4, 5, 10, requires_grad=True)
    z0 = model.encode(uint8_frames(4, RES, RES))[:, None]
    target = torch.randn(4, 32)
    loss = ((model.rollout(z0, actions)[:, -1] - target) ** 2).mean()
    loss.backward()
    assert actions.grad is not None and actions.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.parameters())


def test_action_stats_zscore_inside():
    model = WorldModel(tiny_cfg())
    model.set_action_stats(np.array([1.0, -2.0]), np.array([2.0, 0.5]))
    assert model.action_mean.tolist() == [1.0, -2.0] * 5
    blocks = model.action_mean.expand(1, 1, 10) + model.action_std
    torch.testing.assert_close(model.normalize_actions(blocks), torch.ones(1, 1, 10))
    with pytest.raises(ValueError, match="action mean"):
        model.set_action_stats(np.zeros(3), np.ones(3))


# ---------------------------------------------------------------------------------- SIGReg
def test_sigreg_small_for_gaussian_large_for_collapse():
    g = torch.Generator().manual_seed(0)
    gauss = torch.randn(512, 16, generator=g)
    s_gauss = sigreg(gauss, 256, torch.Generator().manual_seed(1))
    s_collapsed = sigreg(torch.zeros(512, 16) + 0.01 * gauss, 256)
    s_shifted = sigreg(gauss + 2.0, 256)
    s_wide = sigreg(3.0 * gauss, 256)
    # Under the null N * |ecf - cf|^2 is O(1) (about 1.2 here); departures scale with N.
    assert s_gauss < 3.0
    assert min(s_collapsed, s_shifted, s_wide) > 50 * s_gauss
    again = sigreg(gauss, 256, torch.Generator().manual_seed(1))
    assert torch.equal(s_gauss, again)
    # leading dims are independent tests that get averaged; gradient flows
    z = torch.randn(3, 64, 8, requires_grad=True)
    sigreg(z, 32).backward()
    assert z.grad is not None and torch.isfinite(z.grad).all()


# -------------------------------------------------------------------------------- training
def _state(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


def _assert_same_weights(a: Path, b: Path) -> None:
    sa, sb = _state(a), _state(b)
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def test_training_reduces_loss_and_writes_outputs(demo, tmp_path):
    out = tmp_path / "wm" / "world_model.pt"
    cfg = fast_train_cfg(steps=40, lr=3e-3, warmup_steps=5, sigreg_weight=0.02)
    summary = train_world_model(tiny_cfg(dropout=0.0), cfg, demo, out, tmp_path / "state",
                                seed=0, progress=False)
    assert summary["completed"] and summary["step"] == 40
    rows = [json.loads(line) for line in (out.parent / "train_log.jsonl").read_text().split("\n")
            if line]
    assert [r["step"] for r in rows] == list(range(1, 41))
    assert {"pred", "sigreg", "total", "lr", "grad_norm"} <= rows[0].keys()
    first = np.mean([r["total"] for r in rows[:5]])
    last = np.mean([r["total"] for r in rows[-5:]])
    assert last < 0.7 * first, (first, last)
    model = load_world_model(out)
    assert model.meta["val_pred_loss"] is not None and model.meta["val_windows"] > 0
    np.testing.assert_allclose(model.action_mean[:2].numpy(), model.meta["action_mean"])


def test_same_seed_same_weights_and_resume_equals_uninterrupted(demo, tmp_path, monkeypatch):
    cfg, tcfg = tiny_cfg(), fast_train_cfg()
    ref = tmp_path / "ref" / "wm.pt"
    train_world_model(cfg, tcfg, demo, ref, tmp_path / "s_ref", seed=3, progress=False)

    # same seed, fresh state -> bit-identical weights
    again = tmp_path / "again" / "wm.pt"
    train_world_model(cfg, tcfg, demo, again, tmp_path / "s_again", seed=3, progress=False)
    _assert_same_weights(ref, again)

    # graceful stop after step 3, then resume
    stopped = tmp_path / "stopped" / "wm.pt"
    s = train_world_model(cfg, tcfg, demo, stopped, tmp_path / "s_stop", seed=3,
                          progress=False, stop_after_step=3)
    assert not s["completed"] and not stopped.exists()
    s = train_world_model(cfg, tcfg, demo, stopped, tmp_path / "s_stop", seed=3, progress=False)
    assert s["resumed_from"] == 3
    _assert_same_weights(ref, stopped)

    # crash during step 5: resumes from the step-4 checkpoint
    crashed = tmp_path / "crashed" / "wm.pt"
    real_loss, calls = WorldModel.loss, {"n": 0}

    def flaky_loss(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real_loss(self, *args, **kwargs)

    monkeypatch.setattr(WorldModel, "loss", flaky_loss)
    with pytest.raises(KeyboardInterrupt):
        train_world_model(cfg, tcfg, demo, crashed, tmp_path / "s_crash", seed=3, progress=False)
    monkeypatch.setattr(WorldModel, "loss", real_loss)
    s = train_world_model(cfg, tcfg, demo, crashed, tmp_path / "s_crash", seed=3, progress=False)
    assert s["resumed_from"] == 4
    _assert_same_weights(ref, crashed)
    rows = (crashed.parent / "train_log.jsonl").read_text().strip().split("\n")
    assert [json.loads(r)["step"] for r in rows] == list(range(1, 7))


def test_resume_with_changed_config_starts_fresh(demo, tmp_path, caplog):
    state = tmp_path / "state"
    train_world_model(tiny_cfg(), fast_train_cfg(), demo, tmp_path / "a.pt", state, seed=0,
                      progress=False, stop_after_step=2)
    s = train_world_model(tiny_cfg(), fast_train_cfg(lr=1e-3), demo, tmp_path / "a.pt", state,
                          seed=0, progress=False)
    assert s["resumed_from"] == 0 and s["completed"]
    assert "different config" in caplog.text


def test_training_rejects_resolution_mismatch(demo, tmp_path):
    with pytest.raises(ValueError, match="resolution"):
        train_world_model(tiny_cfg(image_size=64), fast_train_cfg(), demo, tmp_path / "x.pt",
                          tmp_path / "s", progress=False)


def test_lr_schedule_warmup_then_cosine_to_zero(demo, tmp_path):
    """The world model trains with the shared schedule at floor 0 (the policies' is 0.1)."""
    tcfg = fast_train_cfg(steps=8, warmup_steps=3)
    out = tmp_path / "wm" / "wm.pt"
    train_world_model(tiny_cfg(), tcfg, demo, out, tmp_path / "s", seed=0, progress=False)
    lrs = [json.loads(r)["lr"] for r in (out.parent / "train_log.jsonl").read_text().splitlines()]
    assert lrs == [tcfg.lr * loop.warmup_cosine(s, 8, 3, 0.0) for s in range(8)]
    assert lrs[:3] == pytest.approx([tcfg.lr / 3, tcfg.lr * 2 / 3, tcfg.lr])
    assert loop.warmup_cosine(8, 8, 3, 0.0) == 0.0


def test_world_model_resumes_through_the_shared_loop(demo, tmp_path, monkeypatch):
    real, loaded = loop._load_state, []

    def spy(path, run_hash):
        state = real(path, run_hash)
        loaded.append(None if state is None else state["step"])
        return state

    monkeypatch.setattr(loop, "_load_state", spy)
    cfg, tcfg = tiny_cfg(), fast_train_cfg(steps=4)
    train_world_model(cfg, tcfg, demo, tmp_path / "wm.pt", tmp_path / "s", progress=False,
                      stop_after_step=2)
    state = torch.load(tmp_path / "s" / "last.pt", weights_only=True)
    assert state["format"] == loop.STATE_FORMAT and state["step"] == 2
    assert [r["step"] for r in state["history"]] == [1, 2]
    s = train_world_model(cfg, tcfg, demo, tmp_path / "wm.pt", tmp_path / "s", progress=False)
    assert loaded == [None, 2] and s["resumed_from"] == 2 and s["completed"]


# ----------------------------------------------------------------------------- checkpoints
def test_checkpoint_round_trip(tmp_path):
    model = WorldModel(tiny_cfg())
    model.set_action_stats(np.array([0.1, 0.2]), np.array([1.5, 2.5]))
    path = tmp_path / "wm.pt"
    save_world_model(model, path, {"note": "x"})
    assert not list(tmp_path.glob(".*tmp"))  # no temp file left behind
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "larc-world-model" and raw["version"] == 1
    loaded = load_world_model(path)
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    assert loaded.meta == {"note": "x"} and loaded.cfg == model.cfg
    frames = uint8_frames(2, 2, RES, RES)
    with torch.no_grad():
        torch.testing.assert_close(loaded.encode(frames), model.eval().encode(frames))
    assert world_model_fingerprint(path) == world_model_fingerprint(path)
    assert len(world_model_fingerprint(path)) == 64


def test_checkpoint_errors(tmp_path):
    model = WorldModel(tiny_cfg())
    good = tmp_path / "good.pt"
    save_world_model(model, good, {})
    with pytest.raises(ArtifactError, match="not found"):
        load_world_model(tmp_path / "missing.pt")
    with pytest.raises(ArtifactError, match="not found"):
        world_model_fingerprint(tmp_path / "missing.pt")

    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ArtifactError, match="corrupt"):
        load_world_model(corrupt)

    plain = tmp_path / "plain.pt"
    torch.save(model.state_dict(), plain)
    with pytest.raises(ArtifactError, match="load_lewm_world_model"):
        load_world_model(plain)

    payload = torch.load(good, weights_only=True)
    payload["state_dict"].pop("predictor.pos_embedding")
    payload["state_dict"]["bogus.weight"] = torch.zeros(2)
    payload["state_dict"]["projector.net.0.weight"] = torch.zeros(3, 3)
    bad = tmp_path / "bad.pt"
    torch.save(payload, bad)
    with pytest.raises(ArtifactError) as err:
        load_world_model(bad)
    msg = str(err.value)
    assert "predictor.pos_embedding" in msg and "bogus.weight" in msg
    assert "projector.net.0.weight" in msg

    payload = torch.load(good, weights_only=True)
    payload["config"]["depth"] = -1
    torch.save(payload, bad)
    with pytest.raises(ArtifactError, match="depth"):
        load_world_model(bad)


def test_optional_pixel_decoder_adds_a_reconstruction_term():
    """decoder_channels adds a decoder (and only then the recon term); without it the model keeps
    exactly LeWM's keys, and asking for reconstruction names the missing setting."""
    plain = WorldModel(tiny_cfg())
    assert not any(k.startswith("decoder.") for k in plain.state_dict())
    frames, actions = uint8_frames(2, 3, RES, RES), torch.randn(2, 3, plain.cfg.action_block_dim)
    assert set(plain.loss(frames, actions)) == {"pred", "sigreg", "total"}
    with pytest.raises(ValueError, match="decoder_channels"):
        plain.loss(frames, actions, recon_weight=1.0)
    cfg = tiny_cfg(decoder_channels=[8, 4])
    model = WorldModel(cfg)
    assert model.decoder.out_size == 16
    out = model.loss(frames, actions, recon_weight=2.0,
                     generator=torch.Generator().manual_seed(0))
    base = model.loss(frames, actions, generator=torch.Generator().manual_seed(0))
    assert out["recon"] > 0
    torch.testing.assert_close(out["total"], base["total"] + 2.0 * out["recon"])
    # Weighting the moving pixels only adds to the error (random frames: most pixels move).
    weighted = model.loss(frames, actions, recon_weight=2.0, recon_foreground=3.0,
                          generator=torch.Generator().manual_seed(0))
    assert out["recon"] < weighted["recon"] <= 4.0 * out["recon"] + 1e-6
    out["total"].backward()
    assert model.decoder.fc.weight.grad.abs().sum() > 0
    with pytest.raises(WorldModelConfigError, match="decoder_channels"):
        tiny_cfg(decoder_channels=[8, 8, 8, 8, 8])


def test_keypoint_encoder_and_broadcast_decoder():
    """The keypoint encoder maps frames to latent_dim features and its spatial softmax reads a
    peak's position; the broadcast decoder draws R x R frames in [0, 1]; bad kinds and sizes
    are named."""
    from larc_core.world_model.encoders import BroadcastDecoder, KeypointEncoder, build_decoder

    cfg = tiny_cfg(encoder="keypoint", keypoints=4, decoder="broadcast", decoder_channels=[8],
                   decoder_size=8)
    model = WorldModel(cfg)
    frames, actions = uint8_frames(2, 3, RES, RES), torch.randn(2, 3, cfg.action_block_dim)
    assert model.encode(frames).shape == (2, 3, cfg.latent_dim)
    out = model.loss(frames, actions, recon_weight=1.0, recon_foreground=2.0)
    assert out["recon"] > 0 and model.decoder(torch.zeros(5, cfg.latent_dim)).shape == (5, 3, 8, 8)
    out["total"].backward()
    assert model.encoder.keypoint_logits.weight.grad.abs().sum() > 0

    # Spatial softmax: a peak at row 1, column 3 of a 4 x 4 map is read as x = 1, y = -1/3.
    logits = torch.zeros(1, 1, 4, 4)
    logits[0, 0, 1, 3] = 50.0
    kx, ky = KeypointEncoder.expected_xy(logits)
    torch.testing.assert_close(kx, torch.tensor([[1.0]]))
    torch.testing.assert_close(ky, torch.tensor([[-1 / 3]]))
    dec = BroadcastDecoder(6, (4,), 12)
    img = dec(torch.randn(3, 6))
    assert img.shape == (3, 3, 12, 12) and float(img.min()) >= 0 and float(img.max()) <= 1
    with pytest.raises(WorldModelConfigError, match="encoder must be"):
        tiny_cfg(encoder="resnet")
    with pytest.raises(WorldModelConfigError, match="decoder must be"):
        tiny_cfg(decoder="deconv")
    with pytest.raises(ValueError, match="decoder kind"):
        build_decoder(6, "deconv", (4,), 12)
    # The reconstruction term draws one frame per window from the generator: reproducible.
    g = [model.loss(frames, actions, recon_weight=1.0, generator=torch.Generator().manual_seed(5))
         for _ in range(2)]
    torch.testing.assert_close(g[0]["recon"], g[1]["recon"])
    with pytest.raises(WorldModelConfigError, match="decoder_size"):
        tiny_cfg(decoder="broadcast", decoder_channels=[8], decoder_size=4 * RES)


def test_resume_hash_follows_the_demonstrations_and_their_split():
    """A finished world-model state is reused only for the same content and the same training
    episodes: a new val_fraction moves the split and must retrain."""
    from types import SimpleNamespace

    from larc_core.world_model.config import WorldModelConfig, WorldModelTrainConfig
    from larc_core.world_model.train import _run_hash

    cfg, train = WorldModelConfig(image_size=32, cnn_channels=(8, 16)), WorldModelTrainConfig()
    a = SimpleNamespace(fingerprint="f" * 64, train_episodes=np.array([0, 1, 2]))
    same = SimpleNamespace(fingerprint="f" * 64, train_episodes=np.array([0, 1, 2]))
    split = SimpleNamespace(fingerprint="f" * 64, train_episodes=np.array([0, 1]))
    other = SimpleNamespace(fingerprint="e" * 64, train_episodes=np.array([0, 1, 2]))
    h = _run_hash(cfg, train, 0, a)
    assert h == _run_hash(cfg, train, 0, same)
    assert h != _run_hash(cfg, train, 0, split) and h != _run_hash(cfg, train, 0, other)



def test_rollout_loss_is_the_mean_error_of_rollouts_from_every_start():
    """T = R + 1: one rollout from the first latent; longer windows: one from every start p,
    with the real latents up to p (at most ``history``) and the blocks between them."""
    torch.manual_seed(0)
    model = WorldModel(tiny_cfg(dropout=0.0)).eval()
    z, a = torch.randn(3, 6, 32), torch.randn(3, 6, 10)
    one = torch.nn.functional.mse_loss(model.rollout(z[:, :1], a[:, :5]), z[:, 1:6])
    assert torch.allclose(model.rollout_loss(z, a, 5), one)
    z, a = torch.randn(3, 9, 32), torch.randn(3, 9, 10)
    errors = []
    for p in range(4):
        h0 = min(p + 1, 3)
        pred = model.rollout(z[:, p + 1 - h0:p + 1], a[:, p:p + 5],
                             a[:, p + 1 - h0:p] if h0 > 1 else None)
        errors.append(torch.nn.functional.mse_loss(pred, z[:, p + 1:p + 6]))
    assert torch.allclose(model.rollout_loss(z, a, 5), torch.stack(errors).mean())
    frames = torch.randint(0, 256, (4, 6, RES, RES, 3), dtype=torch.uint8)
    out = model.loss(frames, torch.randn(4, 6, 10), rollout_steps=5, rollout_weight=2.0)
    assert torch.allclose(out["total"], out["pred"] + 0.09 * out["sigreg"] + 2 * out["rollout"])
    with pytest.raises(ValueError, match="rollout_steps=6 needs windows of at least 7"):
        model.loss(frames, torch.randn(4, 6, 10), rollout_steps=6)
    with pytest.raises(WorldModelConfigError, match="rollout_steps"):
        WorldModelTrainConfig(rollout_steps=5, num_frames=4)
    assert WorldModelTrainConfig(rollout_steps=5).frames_per_window(tiny_cfg()) == 6
