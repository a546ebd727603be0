"""World-model health report: outputs, copy baseline, probes, determinism, cache provenance."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from larc_core.data import DemoFile
from larc_core.io import ArtifactError
from larc_core.reporting.world_model import world_model_health
from larc_core.world_model import (
    WorldModel,
    WorldModelConfig,
    build_latent_cache,
    save_world_model,
    world_model_fingerprint,
)
from larc_core.world_model.health import PROBE_TARGETS, ridge_probe_r2

torch.set_num_threads(1)  # shared 2-core machine

RES, FS, K = 32, 5, 6
PROBE_STEPS = 300  # the report's plumbing, not the probe's quality (tested on its own below)


def _model(seed: int, actions: np.ndarray) -> WorldModel:
    """Tiny world model with non-default weights, BatchNorm statistics and action stats."""
    torch.manual_seed(seed)
    cfg = WorldModelConfig(image_size=RES, cnn_channels=(8, 16), latent_dim=16,
                           projector_hidden=32, action_embed_hidden=16, history=3, depth=1,
                           heads=2, head_dim=8, mlp_dim=32, frameskip=FS, dropout=0.0)
    model = WorldModel(cfg)
    with torch.no_grad():  # move AdaLN-zero layers off zero, as training would
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    model.set_action_stats(actions.mean(0), actions.std(0))
    model.train()
    with torch.no_grad():  # BatchNorm running statistics off their defaults
        model.loss(torch.randint(0, 256, (8, 2, RES, RES, 3), dtype=torch.uint8),
                   torch.zeros(8, 2, 2 * FS), sigreg_directions=8)
    return model


@pytest.fixture(scope="module")
def setup(tmp_path_factory, demo_file) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("health")
    demo = demo_file  # 32 px (RES)
    with DemoFile(demo) as d:
        actions = d.action
    paths = {"demo": demo, "tmp": tmp}
    for name, seed in (("wm", 0), ("other", 1)):
        wm = tmp / f"{name}.pt"
        save_world_model(_model(seed, actions), wm, {})
        build_latent_cache(demo, wm, tmp / f"{name}_latents.pt", progress=False)
        paths[name] = wm
        paths[f"{name}_latents"] = tmp / f"{name}_latents.pt"
    return paths


def _run(setup: dict[str, Path], sub: str, **kw: Any) -> tuple[dict, Path, Path, Path]:
    out = setup["tmp"] / sub
    md, js, png = out / "report" / "health.md", out / "health.json", out / "fig" / "health.png"
    res = world_model_health(setup["demo"], setup["wm"], setup["wm_latents"], md, js, png,
                             rollout_blocks=K, progress=False, probe_steps=PROBE_STEPS, **kw)
    return res, md, js, png


def _numbers(x: Any) -> list[float]:
    if isinstance(x, dict):
        return [v for item in x.values() for v in _numbers(item)]
    if isinstance(x, list):
        return [v for item in x for v in _numbers(item)]
    if isinstance(x, bool) or not isinstance(x, int | float):
        return []
    return [float(x)]


def test_health_report(setup):
    # max_windows above the number of candidates: every eligible start is used, so the copy
    # baselines can be recomputed independently from the cache.
    res, md, js, png = _run(setup, "all", max_windows=100_000, seed=0)
    assert md.exists() and js.exists() and png.exists()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(js.read_text())
    assert data == json.loads(json.dumps(res))
    nums = _numbers(data)
    assert nums and all(math.isfinite(v) for v in nums)
    assert data["provenance"]["world_model_sha256"] == world_model_fingerprint(setup["wm"])

    # independent recomputation of both copy baselines from the cache
    demo = DemoFile(setup["demo"])
    z = torch.load(setup["wm_latents"], weights_only=True)["latents"].double()
    off, ln = demo.ep_offset, demo.ep_len
    roll = [r for e in demo.val_episodes for r in range(off[e], off[e] + ln[e] - K * FS)]
    pred = [r for e in demo.val_episodes for r in range(off[e], off[e] + ln[e] - 3 * FS)]
    copy_k1 = ((z[roll] - z[np.add(roll, FS)]) ** 2).mean().item()
    rows = data["rollout"]["rows"]
    assert data["rollout"]["n_starts"] == len(roll)
    assert len(rows) == K and [r["k"] for r in rows] == list(range(1, K + 1))
    assert rows[0]["copy_mse"] == pytest.approx(copy_k1, rel=1e-9)
    p = np.asarray(pred)[:, None] + FS * np.arange(4)[None, :]
    copy_pred = ((z[p[:, :-1]] - z[p[:, 1:]]) ** 2).mean().item()
    assert data["prediction"]["n_windows"] == len(pred)
    assert data["prediction"]["copy_mse"] == pytest.approx(copy_pred, rel=1e-9)
    assert data["prediction"]["ratio"] == pytest.approx(
        data["prediction"]["model_mse"] / data["prediction"]["copy_mse"])

    r2 = data["probe"]["r2"]
    assert list(r2) == list(PROBE_TARGETS) and all(v <= 1.0 for v in r2.values())
    assert data["probe"]["target_met"] == (data["probe"]["positional_r2_min"] >= 0.9)

    text = md.read_text()
    assert text.startswith("# World-model health")
    assert "](../fig/health.png)" in text  # figure linked relative to the md file
    table = text.split("## Multi-step rollout")[1].split("##")[0]
    assert sum(line.startswith("| ") and line[2].isdigit() for line in table.splitlines()) == K
    mlp = data["probe"]["mlp_r2"]
    assert list(mlp) == list(PROBE_TARGETS) and all(v <= 1.0 for v in mlp.values())
    # A target is met when either probe reaches it.
    for name, target in data["probe"]["r2_targets"].items():
        assert data["probe"]["r2_targets_met"][name] == (max(r2[name], mlp[name]) >= target)
    assert data["probe"]["all_r2_targets_met"] == all(data["probe"]["r2_targets_met"].values())
    assert "| block_x |" in text and "All probe targets:" in text


def test_health_deterministic_and_subsampled(setup):
    a, _, ja, _ = _run(setup, "a", max_windows=24, seed=3)
    _, _, jb, _ = _run(setup, "b", max_windows=24, seed=3)
    assert ja.read_text() == jb.read_text()
    assert a["prediction"]["n_windows"] == 24 and a["rollout"]["n_starts"] == 24


def test_cache_from_another_model_is_rejected(setup):
    out = setup["tmp"] / "bad"
    with pytest.raises(ArtifactError) as err:
        world_model_health(setup["demo"], setup["wm"], setup["other_latents"], out / "h.md",
                           out / "h.json", out / "h.png", progress=False)
    assert str(setup["other_latents"]) in str(err.value)
    assert world_model_fingerprint(setup["wm"]) in str(err.value)
    assert not out.exists()  # nothing written


def test_ridge_probe_recovers_linear_targets():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 8)) * rng.uniform(0.1, 10, size=8) + 5.0
    y = np.stack([x @ rng.normal(size=8) + 3.0, rng.normal(size=600)], 1)
    r2 = ridge_probe_r2(x[:400], y[:400], x[400:], y[400:], lam=1e-6)
    assert r2[0] == pytest.approx(1.0, abs=1e-6) and r2[1] < 0.1


def test_mlp_probe_reads_what_ridge_cannot():
    """A target even in the latent (cos 2 theta from theta) has no linear read-out, so
    ridge fails and the MLP probe succeeds; a pure-noise target scores about 0 on both."""
    from larc_core.world_model.health import mlp_probe_r2

    rng = np.random.default_rng(0)
    theta = rng.uniform(-np.pi, np.pi, 3000)
    x = np.stack([theta, rng.normal(size=3000)], 1)
    y = np.stack([np.cos(2 * theta), rng.normal(size=3000)], 1)
    train, val = np.arange(2500), np.arange(2500, 3000)
    ridge = ridge_probe_r2(x[train], y[train], x[val], y[val])
    mlp = mlp_probe_r2(x, y, train, val, steps=1500)
    assert ridge[0] < 0.1 and mlp[0] > 0.9
    assert abs(mlp[1]) < 0.2 and abs(ridge[1]) < 0.05
    np.testing.assert_array_equal(mlp, mlp_probe_r2(x, y, train, val, steps=1500))  # seeded
