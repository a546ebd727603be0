"""LAPA and LARA as objectives: latent pretraining reads no action, the fine-tune and its
baseline share the labeled episodes, LARA's alignment reaches the refined latent action model,
and every row's checkpoint is a plain policy."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from larc_core.objectives import TrainData
from larc_core.objectives.lapa import labeled_episodes
from larc_core.policies.checkpoint import load_policy
from larc_core.training.fit import fit_stage

CHUNK = {"hidden_dim": 16, "depth": 2, "chunk_len": 5}
LOOP = {"steps": 12, "batch_size": 16, "checkpoint_every": 6, "val_every": 6}


def _data() -> TrainData:
    g = np.random.default_rng(2)
    ep_len = np.array([40, 44, 38, 42, 41])
    n = int(ep_len.sum())
    walk = np.cumsum(g.standard_normal((n, 8)).astype(np.float32) * 0.1, axis=0)
    return TrainData(latents=torch.as_tensor(walk),
                     actions=g.standard_normal((n, 2)).astype(np.float32),
                     ep_offset=np.concatenate([[0], np.cumsum(ep_len)[:-1]]), ep_len=ep_len,
                     train_episodes=np.array([0, 1, 2, 3]), val_episodes=np.array([4]),
                     goal_offset_min=1, goal_offset_max=20)


@pytest.fixture(scope="module")
def lam_dir(tmp_path_factory):
    """A latent action model of horizon 5 (the policies' chunk length), saved as a stage."""
    root = tmp_path_factory.mktemp("lam")
    fit = fit_stage("lam", _data(), train_cfg={**LOOP, "horizon": 5, "hidden_dim": 16,
                                               "code_dim": 4, "codebook_size": 8},
                    model_cfg={}, seed=0, state_path=root / "state.pt", progress=False)
    fit.objective.save(root, {"seed": 0})
    return root


def test_labeled_episodes_are_nested_seeded_and_never_empty():
    eps = np.arange(100, 200)
    five, ten = labeled_episodes(eps, 0.05, 0), labeled_episodes(eps, 0.10, 0)
    assert len(five) == 5 and len(ten) == 10 and set(five) <= set(ten)
    assert np.array_equal(ten, labeled_episodes(eps, 0.10, 0))
    assert not np.array_equal(ten, labeled_episodes(eps, 0.10, 1))
    assert len(labeled_episodes(eps[:3], 0.01, 0)) == 1


def test_lapa_pretrains_without_actions_then_fine_tunes_on_the_labels(lam_dir, tmp_path):
    data = _data()
    nan = copy.copy(data)
    nan.actions = np.full_like(data.actions, np.nan)  # one read would make every loss NaN
    pre = fit_stage("lapa_pretrain", nan, train_cfg={**LOOP, "layer": "net.5"},
                    model_cfg=CHUNK, seed=1, state_path=tmp_path / "pre.pt",
                    uses={"lam": lam_dir}, progress=False)
    assert pre.objective.data.actions is None
    assert all(np.isfinite(v) for row in pre.history for v in row.values())
    assert {"code_ce", "accuracy"} <= set(pre.history[-1])
    pre.objective.save(tmp_path / "pre", {"seed": 1})
    policy, stats, _ = load_policy(tmp_path / "pre/shared_policy_backbone.pt")
    assert torch.equal(stats.std, torch.ones(2))  # no actions: identity statistics

    cfg = {**LOOP, "labeled_fraction": 0.5, "label_seed": 3}
    lapa = fit_stage("lapa", data, train_cfg=cfg, model_cfg={}, seed=1,
                     init=(policy, stats), state_path=tmp_path / "lapa.pt", progress=False)
    few = fit_stage("chunk_few", data, train_cfg=cfg, model_cfg=CHUNK, seed=1,
                    state_path=tmp_path / "few.pt", progress=False)
    labeled = labeled_episodes(data.train_episodes, 0.5, 3)
    for fit in (lapa, few):  # the same labeled episodes, their statistics
        assert np.array_equal(fit.objective.data.train_episodes, labeled)
        rows = np.concatenate([np.arange(data.ep_offset[e], data.ep_offset[e] + data.ep_len[e] - 1)
                               for e in labeled])
        assert torch.allclose(fit.stats.mean, torch.as_tensor(data.actions[rows]).mean(0))
    # The fine-tune starts from the pretrained trunk, the baseline from a fresh one.
    assert lapa.policy is policy


def test_lara_aligns_a_named_layer_and_refines_the_latent_action_model(lam_dir, tmp_path):
    cfg = {**LOOP, "layer": "net.2", "align_weight": 1.0}
    fit = fit_stage("lara", _data(), train_cfg=cfg, model_cfg=CHUNK, seed=2,
                    state_path=tmp_path / "lara.pt", uses={"lam": lam_dir}, progress=False)
    assert {"bc", "align", "lam"} <= set(fit.history[-1])
    from larc_core.objectives.lam import load_latent_action_model

    before, _ = load_latent_action_model(lam_dir / "latent_action_model.pt")
    after = fit.objective.lam.state_dict()
    assert any(not torch.equal(v, after[k]) for k, v in before.state_dict().items()
               if k != "usage")  # gradients reached the model: it was refined, not frozen
    fit.objective.save(tmp_path / "out", {"seed": 2})
    load_policy(tmp_path / "out/shared_policy_backbone.pt")  # a plain policy checkpoint
    assert (tmp_path / "out/lara_heads.pt").exists()
    with pytest.raises(ValueError, match=r"no submodule 'net\.9'; its layers: \['net\.0'"):
        fit_stage("lara", _data(), train_cfg={**cfg, "layer": "net.9"}, model_cfg=CHUNK,
                  seed=2, state_path=tmp_path / "bad.pt", uses={"lam": lam_dir},
                  progress=False)
