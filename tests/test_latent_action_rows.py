"""LAPA and LARA as objectives: latent pretraining reads no action, the fine-tune and its
baseline share the labeled episodes, LARA's alignment reaches the refined latent action model,
and every row's checkpoint is a plain policy."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from larc_core.objectives import TrainData
from larc_core.objectives.lapa.objective import labeled_episodes
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
    from larc_core.objectives.lam.model import load_latent_action_model

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


def test_lapa_pretrains_a_single_action_network_on_the_models_window(lam_dir, tmp_path):
    """LAPA under LARC-IDM's network: one action per call, the target still the codes of the
    latent action model's whole window (z_t, z_t+5)."""
    data = _data()
    data.actions = np.full_like(data.actions, np.nan)
    pre = fit_stage("lapa_idm_pretrain", data, train_cfg={**LOOP, "layer": "net.5"},
                    model_cfg={"hidden_dim": 16, "depth": 2}, seed=0,
                    state_path=tmp_path / "pre.pt", uses={"lam": lam_dir}, progress=False)
    assert pre.policy.chunk_len == 1 and pre.objective.samplers["train"].k == 5
    assert all(np.isfinite(v) for row in pre.history for v in row.values())


def _point(method: str, fraction: float, wins: list[int]) -> dict:
    """A sweep point whose seed-0 episode i at offset 25 succeeds when i < wins[0] ..."""
    return {"method": method, "fraction": fraction, "labeled_episodes": 10, "runs": [
        {"seed": 0, "offset": 25, "successes": wins[0], "n_episodes": 40,
         "episodes": [{"start_row": i, "goal_row": i + 25, "success": i < wins[0]}
                      for i in range(40)]}]}


def test_label_report_reads_the_claim_per_lapa_row_and_splits_it_into_ablations(tmp_path):
    import json

    from larc_core.reporting.label_efficiency import write_label_report

    wins = {"lapa_chunk": 20, "lapa_idm": 36, "larc_chunk_few": 16, "larc_idm_few": 24}
    files = []
    for method, w in wins.items():
        files.append(tmp_path / f"{method}.json")
        files[-1].write_text(json.dumps(_point(method, 0.05, [w])))
    lam = tmp_path / "lam.json"
    lam.write_text(json.dumps({"seeds": {"0": {"probe_r2": 0.2, "probe_r2_sum": 0.6,
                                               "change_probe_r2": 0.4,
                                               "change_probe_r2_sum": 0.9}}}))
    labels = {"lapa_chunk": "LAPA (Chunk)", "lapa_idm": "LAPA (IDM)",
              "larc_chunk_few": "Chunk-few", "larc_idm_few": "IDM-few"}
    backbones = {"lapa_chunk": "chunk", "lapa_idm": "idm", "larc_chunk_few": "chunk",
                 "larc_idm_few": "idm"}
    res = write_label_report([str(f) for f in files], labels, ["lapa_chunk", "lapa_idm"],
                             backbones, tmp_path / "r.md", tmp_path / "r.json",
                             tmp_path / "r.png", 0.05, 25, lam)
    rows = {r["lapa"]: r for r in res["claim"]["rows"]}
    # LAPA (IDM) is 20 and 30 points above the baselines on nested successes: the claim holds;
    # LAPA (Chunk) is below IDM-few.
    assert rows["lapa_idm"]["holds"] and not rows["lapa_chunk"]["holds"] and res["claim"]["holds"]
    ablations = {(d["a"], d["b"]): d["difference"] for d in res["ablations"]}
    assert ablations == {("lapa_chunk", "larc_chunk_few"): pytest.approx(10.0),
                         ("lapa_idm", "larc_idm_few"): pytest.approx(30.0),
                         ("larc_chunk_few", "larc_idm_few"): pytest.approx(-20.0)}
    md = (tmp_path / "r.md").read_text()
    assert "- LAPA (IDM): **holds**" in md and "- LAPA (Chunk): **does not hold**" in md
    assert "R^2 0.20 of the action chunk" in md and "at most +30.0 points" in md
