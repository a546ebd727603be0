"""Latent cache: streamed encoding round trip and provenance checks."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from larc_core.data import DemoFile
from larc_core.io import ArtifactError
from larc_core.world_model import (
    WorldModel,
    WorldModelConfig,
    build_latent_cache,
    load_latent_cache,
    load_world_model,
    save_world_model,
    world_model_fingerprint,
)

torch.set_num_threads(1)

RES = 32


def _cfg() -> WorldModelConfig:
    return WorldModelConfig(image_size=RES, cnn_channels=(8, 16), latent_dim=24,
                            projector_hidden=48, action_embed_hidden=16, depth=1, heads=2,
                            head_dim=8, mlp_dim=32)


def _write_demo(path: Path, n_episodes: int = 3, ep_len: int = 23) -> Path:
    rng = np.random.default_rng(1)
    n = n_episodes * ep_len
    with h5py.File(path, "w") as f:
        f["pixels"] = rng.integers(0, 256, size=(n, RES, RES, 3), dtype=np.uint8)
        f["action"] = rng.normal(size=(n, 2)).astype(np.float32)
        f["state"] = rng.normal(size=(n, 7)).astype(np.float32)
        f["episode_idx"] = np.repeat(np.arange(n_episodes), ep_len).astype(np.int64)
        f["step_idx"] = np.tile(np.arange(ep_len), n_episodes).astype(np.int64)
        f["ep_len"] = np.full(n_episodes, ep_len, dtype=np.int32)
        f["ep_offset"] = (np.arange(n_episodes) * ep_len).astype(np.int64)
    return path


@pytest.fixture
def setup(tmp_path):
    demo = _write_demo(tmp_path / "demo.h5")
    torch.manual_seed(0)
    model = WorldModel(_cfg())
    model.train()
    model.loss(torch.randint(0, 256, (4, 2, RES, RES, 3), dtype=torch.uint8),
               torch.zeros(4, 2, 10))  # move BatchNorm running stats off their defaults
    wm = tmp_path / "wm.pt"
    save_world_model(model, wm, {})
    return demo, wm, tmp_path


def test_cache_round_trip_matches_direct_encoding(setup):
    demo, wm, tmp = setup
    out = tmp / "cache" / "latents.pt"
    info = build_latent_cache(demo, wm, out, batch_size=16, progress=False)  # 69 rows: 5 chunks
    assert info["n_frames"] == 69 and info["frames_per_s"] > 0
    sha = world_model_fingerprint(wm)
    cache = load_latent_cache(out, expected_wm_sha256=sha, expected_latent_dim=24,
                              expected_n_frames=69)
    assert cache.latents.shape == (69, 24) and cache.latents.dtype == torch.float32
    assert cache.meta["world_model_sha256"] == sha and cache.meta["resolution"] == RES
    assert cache.meta["format"] == "larc-latent-cache" and cache.meta["version"] == 2
    model = load_world_model(wm)
    rows = np.array([0, 15, 16, 40, 68])
    with torch.no_grad():
        direct = model.encode(torch.from_numpy(DemoFile(demo).frames(rows)))
    torch.testing.assert_close(cache.latents[rows], direct, rtol=1e-4, atol=1e-5)
    raw = torch.load(out, weights_only=True)
    assert set(raw) == {"latents", "meta"}


def test_cache_mismatch_errors(setup):
    demo, wm, tmp = setup
    out = tmp / "latents.pt"
    build_latent_cache(demo, wm, out, batch_size=64, progress=False)
    sha = world_model_fingerprint(wm)
    with pytest.raises(ArtifactError) as err:
        load_latent_cache(out, expected_wm_sha256="f" * 64)
    msg = str(err.value)
    assert sha in msg and "f" * 64 in msg and "rerun cache_latents" in msg and str(out) in msg
    assert str(wm) in msg  # the world model that built it, by name
    with pytest.raises(ArtifactError, match="latent_dim is 24, expected 192"):
        load_latent_cache(out, expected_latent_dim=192)
    with pytest.raises(ArtifactError, match="69 frames"):
        load_latent_cache(out, expected_n_frames=70)
    with pytest.raises(ArtifactError, match="not found"):
        load_latent_cache(tmp / "nope.pt")
    bad = tmp / "bad.pt"
    bad.write_bytes(out.read_bytes()[:100])
    with pytest.raises(ArtifactError, match="corrupt"):
        load_latent_cache(bad)
    torch.save({"latents": torch.zeros(3, 2)}, bad)
    with pytest.raises(ArtifactError, match="format"):
        load_latent_cache(bad)


def test_cache_rejects_resolution_mismatch(setup):
    _, wm, tmp = setup
    other = tmp / "other"
    other.mkdir()
    cfg = WorldModelConfig.from_dict({**_cfg().to_dict(), "image_size": 64})
    save_world_model(WorldModel(cfg), other / "wm64.pt", {})
    demo = _write_demo(other / "demo.h5", n_episodes=1, ep_len=5)
    with pytest.raises(ArtifactError, match="image_size 64"):
        build_latent_cache(demo, other / "wm64.pt", other / "x.pt", progress=False)
    assert not (other / "x.pt").exists()
