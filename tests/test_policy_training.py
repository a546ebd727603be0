"""Policy training on a real latent cache: seeded determinism and exact resume after a crash."""

from __future__ import annotations

import pytest
import torch

from larc_core.engine import loop
from larc_core.engine.sampler import HindsightSampler
from larc_core.io import ArtifactError
from larc_core.policies.checkpoint import load_policy
from larc_core.training.train_stage import train_stage
from larc_core.world_model import (
    WorldModel,
    save_world_model,
)

TRAIN = {"steps": 12, "batch_size": 16, "lr": 1e-3, "smooth_weight": 0.01, "checkpoint_every": 4}
CHUNK = {"hidden_dim": 32, "depth": 1, "chunk_len": 10}


@pytest.fixture(scope="module")
def artifacts(tiny_latents, tmp_path_factory):
    """The shared tiny latents plus another world model (a policy must refuse it)."""
    src, cfg = tiny_latents
    root = tmp_path_factory.mktemp("policy")
    for name in ("demos.h5", "wm.pt", "latents.pt"):
        (root / name).symlink_to(src / name)
    other = WorldModel(cfg).eval()
    save_world_model(other, root / "other_wm.pt", {"note": "another model"})
    return root


def _train(root, out, state, stage="chunk", init=None, wm="wm.pt"):
    return train_stage(
        stage, demo_path=root / "demos.h5", latents_path=root / "latents.pt",
        world_model_path=root / wm, out_dir=out, state_dir=state,
        policy_cfg={} if stage == "wm_ft" else CHUNK,
        train_cfg=dict(TRAIN, consistency_weight=1.0) if stage == "wm_ft" else TRAIN,
        goal_offset_min=1, goal_offset_max=30, seed=7, init_dir=init, progress=False,
    )


def _weights(out):
    policy, _, _ = load_policy(out / "shared_policy_backbone.pt")
    return policy.state_dict()


def test_same_seed_same_weights_and_wm_ft_runs(artifacts, tmp_path):
    _train(artifacts, tmp_path / "a", tmp_path / "sa")
    _train(artifacts, tmp_path / "b", tmp_path / "sb")
    wa, wb = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    log = (tmp_path / "a" / "train_log.jsonl").read_text().splitlines()
    assert len(log) == TRAIN["steps"]
    meta = _train(artifacts, tmp_path / "ft", tmp_path / "sft", stage="wm_ft", init=tmp_path / "a")
    assert "wm" in meta["final_train"]
    wf = _weights(tmp_path / "ft")
    assert any(not torch.equal(wa[k], wf[k]) for k in wa)


@pytest.mark.parametrize("wm_ft", [{"target": "path"}, {"rollout_chunks": 2},
                                   {"target": "path", "rollout_chunks": 2}])
def test_wm_ft_matches_the_path_or_rolls_further(artifacts, tmp_path, wm_ft):
    """WM-FT's other targets (every block's latent) and longer imagined rollouts (the policy
    re-queried on its imagined latent) train, and move the weights off the Chunk's."""
    _train(artifacts, tmp_path / "a", tmp_path / "sa")
    meta = train_stage(
        "wm_ft", demo_path=artifacts / "demos.h5", latents_path=artifacts / "latents.pt",
        world_model_path=artifacts / "wm.pt", out_dir=tmp_path / "ft", state_dir=tmp_path / "s",
        policy_cfg={}, train_cfg=dict(TRAIN, consistency_weight=1.0, **wm_ft),
        goal_offset_min=1, goal_offset_max=30, seed=7, init_dir=tmp_path / "a", progress=False)
    assert meta["final_train"]["wm"] > 0
    wa, wf = _weights(tmp_path / "a"), _weights(tmp_path / "ft")
    assert any(not torch.equal(wa[k], wf[k]) for k in wa)


def test_crash_then_resume_equals_uninterrupted(artifacts, tmp_path, monkeypatch):
    _train(artifacts, tmp_path / "ref", tmp_path / "sref")
    real = HindsightSampler.sample

    def crash_at_9(self, batch_size, seed, step):
        if step == 9:
            raise KeyboardInterrupt("simulated kill")
        return real(self, batch_size, seed, step)

    monkeypatch.setattr(HindsightSampler, "sample", crash_at_9)
    with pytest.raises(KeyboardInterrupt):
        _train(artifacts, tmp_path / "run", tmp_path / "srun")
    assert not (tmp_path / "run" / "shared_policy_backbone.pt").exists()
    state = torch.load(tmp_path / "srun" / "last.pt", weights_only=True)
    assert state["format"] == loop.STATE_FORMAT and state["step"] == 8  # the shared loop's
    monkeypatch.setattr(HindsightSampler, "sample", real)
    real_load, loaded = loop._load_state, []

    def spy(path, run_hash):  # the world model resumes through the same function
        state = real_load(path, run_hash)
        loaded.append(None if state is None else state["step"])
        return state

    monkeypatch.setattr(loop, "_load_state", spy)
    _train(artifacts, tmp_path / "run", tmp_path / "srun")
    assert loaded == [8]
    wr, wu = _weights(tmp_path / "ref"), _weights(tmp_path / "run")
    assert all(torch.equal(wr[k], wu[k]) for k in wr)
    assert (tmp_path / "run" / "train_log.jsonl").read_text() == (
        tmp_path / "ref" / "train_log.jsonl"
    ).read_text()


def test_latents_of_another_world_model_are_refused(artifacts, tmp_path):
    with pytest.raises(ArtifactError, match="rerun cache_latents|world model"):
        _train(artifacts, tmp_path / "x", tmp_path / "sx", wm="other_wm.pt")
    assert not (tmp_path / "x" / "shared_policy_backbone.pt").exists()


@pytest.fixture(scope="module")
def replayed(tiny_latents, tmp_path_factory):
    """Four source episodes (two of them training), each with a replay at noise 1 and at 0.1,
    and their latents."""
    from larc_core.data import collect_demos
    from larc_core.world_model import build_latent_cache

    src, _ = tiny_latents
    root = tmp_path_factory.mktemp("replayed")
    collect_demos(root / "demos.h5", n_episodes=4, min_len=40, max_len=45, resolution=32,
                  seed=3, workers=1, val_fraction=0.5, progress=False,
                  demonstrator="noisy_replay", replay_noise=[0.0, 1.0, 0.1])
    (root / "wm.pt").symlink_to(src / "wm.pt")
    build_latent_cache(root / "demos.h5", root / "wm.pt", root / "latents.pt", progress=False)
    return root


@pytest.mark.parametrize(("limit", "levels"), [(None, 3), (0.0, 1), (0.1, 2), (1.0, 3)])
def test_policies_train_on_the_replay_levels_asked_for(replayed, tmp_path, limit, levels):
    """policy.max_replay_noise keeps the episodes at or below the level (0.1 keeps level 0.1,
    stored as float32); the checkpoint records it and how many episodes trained."""
    meta = train_stage(
        "idm", demo_path=replayed / "demos.h5", latents_path=replayed / "latents.pt",
        world_model_path=replayed / "wm.pt", out_dir=tmp_path / "out", state_dir=tmp_path / "s",
        policy_cfg={"hidden_dim": 16, "depth": 1}, train_cfg=dict(TRAIN, steps=2),
        goal_offset_min=1, goal_offset_max=20, seed=0, progress=False,
        max_replay_noise=limit)
    assert meta["max_replay_noise"] == limit and meta["train_episodes"] == 2 * levels
