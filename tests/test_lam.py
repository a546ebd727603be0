"""The latent action model stage: its model's shapes and bottleneck, training that never sees
an action, seeded and exactly resumable (dead-code restarts included), and its report."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from larc_core.engine import loop
from larc_core.io import ArtifactError
from larc_core.objectives import TrainData
from larc_core.objectives.lam.model import (
    LatentActionModel,
    LatentActionModelConfig,
    load_latent_action_model,
)
from larc_core.objectives.lam.objective import perplexity
from larc_core.reporting.lam import write_lam_report
from larc_core.training.fit import fit_stage
from larc_core.training.train_stage import train_stage

LAM = {"hidden_dim": 16, "depth": 1, "n_codes": 2, "code_dim": 4, "codebook_size": 8,
       "horizon": 5, "steps": 24, "batch_size": 16, "restart_every": 4, "restart_until": 0.9,
       "checkpoint_every": 8, "val_every": 8}


def test_model_shapes_and_straight_through_bottleneck():
    torch.manual_seed(0)
    model = LatentActionModel(LatentActionModelConfig(latent_dim=6, hidden_dim=8, depth=1,
                                                      n_codes=3, code_dim=2, codebook_size=5))
    z, zn = torch.randn(7, 6), torch.randn(7, 6)
    out = model(z, zn)
    assert out["pred"].shape == (7, 6) and out["indices"].shape == (7, 3)
    assert out["continuous"].shape == out["quantised"].shape == (7, 3, 2)
    # The quantised code is a codebook entry per slot; the untrained forward model copies z_t.
    for slot in range(3):
        assert torch.allclose(out["quantised"][:, slot].detach(),
                              model.codebook[slot][out["indices"][:, slot]].detach(), atol=1e-6)
    assert torch.allclose(out["pred"], z)
    (out["pred"] - zn).pow(2).mean().backward()
    # The read-out learns first; through it the codes, straight through the quantiser, next.
    assert model.forward_model[-1].weight.grad.abs().sum() > 0
    assert perplexity(torch.tensor([[0], [1], [0], [1]]), 4).tolist() == pytest.approx([2.0])


def _data(actions: bool = True) -> TrainData:
    g = np.random.default_rng(1)
    ep_len = np.array([30, 34, 28, 31])
    n = int(ep_len.sum())
    walk = np.cumsum(g.standard_normal((n, 8)).astype(np.float32) * 0.1, axis=0)
    return TrainData(latents=torch.as_tensor(walk),
                     actions=np.full((n, 2), np.nan, np.float32) if actions else None,
                     ep_offset=np.concatenate([[0], np.cumsum(ep_len)[:-1]]), ep_len=ep_len,
                     train_episodes=np.array([0, 1, 2]), val_episodes=np.array([3]),
                     goal_offset_min=1, goal_offset_max=1)


def _fit(tmp_path, name: str, **kw):
    return fit_stage("lam", _data(), train_cfg=LAM, model_cfg={}, seed=5,
                     state_path=tmp_path / f"{name}.pt", progress=False, **kw)


def test_lam_never_reads_actions_and_is_seeded(tmp_path):
    """The actions it is handed are NaN: a single read would make every loss NaN."""
    a, b = _fit(tmp_path, "a"), _fit(tmp_path, "b")
    assert a.objective.data.actions is None
    assert all(np.isfinite(v) for row in a.history for v in row.values())
    wa, wb = a.objective.module.state_dict(), b.objective.module.state_dict()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert {"recon", "codebook", "commit", "ratio", "perplexity", "val_ratio"} <= set(
        a.history[-1])


def test_lam_resumes_exactly_across_code_restarts(tmp_path, monkeypatch):
    whole = _fit(tmp_path, "whole")
    real = loop.run_training

    def crash_after_13(*args, **kwargs):
        return real(*args, stop_after_step=13, **kwargs)

    monkeypatch.setattr("larc_core.training.fit.run_training", crash_after_13)
    _fit(tmp_path, "resumed")
    monkeypatch.setattr("larc_core.training.fit.run_training", real)
    resumed = _fit(tmp_path, "resumed")
    wa, wb = whole.objective.module.state_dict(), resumed.objective.module.state_dict()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_train_lam_writes_its_model_and_the_report_reads_it(tiny_latents, tmp_path):
    src, _ = tiny_latents
    paths = {}
    for seed in (0, 1):
        out = tmp_path / f"seed{seed}"
        meta = train_stage("lam", demo_path=src / "demos.h5", latents_path=src / "latents.pt",
                           world_model_path=src / "wm.pt", out_dir=out,
                           state_dir=tmp_path / f"state{seed}", policy_cfg={}, train_cfg=LAM,
                           goal_offset_min=1, goal_offset_max=30, seed=seed, progress=False)
        assert meta["steps"] == LAM["steps"]
        assert len((out / "train_log.jsonl").read_text().splitlines()) == LAM["steps"]
        model, saved = load_latent_action_model(out / "latent_action_model.pt")
        assert saved["horizon"] == LAM["horizon"] and not model.training
        paths[seed] = out / "latent_action_model.pt"
    res = write_lam_report(paths, src / "demos.h5", src / "latents.pt", src / "wm.pt",
                           tmp_path / "lam.md", tmp_path / "lam.json", ridge=1e-3,
                           max_windows=500)
    assert set(res["seeds"]) == {0, 1}
    doc = json.loads((tmp_path / "lam.json").read_text())
    assert doc["summary"]["max_forward_ratio"] == max(m["forward_ratio"]
                                                      for m in doc["seeds"].values())
    assert "| 1 |" in (tmp_path / "lam.md").read_text()
    # A file that is not a latent action model is refused by name, and so is another world
    # model's.
    with pytest.raises(ArtifactError, match="is not a LARC latent action model"):
        load_latent_action_model(src / "wm.pt")
    with pytest.raises(ArtifactError, match="latents of another world model"):
        load_latent_action_model(paths[0], expected_world_model_sha256="0" * 64)
