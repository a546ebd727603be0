"""GC-IDM baseline: shapes, horizon conditioning, training on a real latent cache, controller."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from larc_core.engine.sampler import HindsightSampler
from larc_core.evaluation.controller import LatentPolicyController
from larc_core.methods import get_method
from larc_core.policies import make_policy
from larc_core.policies.base import ActionStats, LatentPolicy
from larc_core.policies.checkpoint import load_policy, save_policy
from larc_core.policies.gc_idm.model import GCIDMPolicy
from larc_core.training.train_stage import train_stage

CFG = {"latent_dim": 16, "hidden_dim": 32, "depth": 2, "horizon_dim": 8}


def test_shapes_and_input_checks():
    torch.manual_seed(0)
    policy = make_policy("gc_idm", **CFG)
    assert isinstance(policy, GCIDMPolicy) and policy.chunk_len == 1 and policy.uses_horizon
    z, g = torch.randn(5, 16), torch.randn(5, 16)
    k = torch.tensor([1, 5, 10, 25, 50])
    assert policy(z, g, k).shape == (5, 1, 2)
    # A single value is broadcast over the batch.
    assert torch.equal(policy(z, g, torch.tensor(7)), policy(z, g, torch.full((5,), 7)))
    with pytest.raises(ValueError, match="remaining steps"):
        policy(z, g)
    with pytest.raises(ValueError, match="3 remaining-step values for a batch of 5"):
        policy(z, g, torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="even"):
        make_policy("gc_idm", latent_dim=16, horizon_dim=7)
    stats = ActionStats(torch.tensor([0.1, -0.2]), torch.tensor([2.0, 3.0]))
    raw = policy.eval().act(z, g, stats, k)
    assert torch.allclose(raw, stats.denormalize(policy(z, g, k)))


def test_horizon_changes_the_action_and_other_policies_ignore_it():
    torch.manual_seed(0)
    policy = make_policy("gc_idm", **CFG).eval()
    z, g = torch.randn(4, 16), torch.randn(4, 16)
    near, far = policy(z, g, torch.full((4,), 2)), policy(z, g, torch.full((4,), 40))
    assert (near - far).abs().min() > 1e-4
    # Every parameter, the horizon branch included, gets a gradient.
    policy(z, g, torch.arange(1, 5)).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in policy.parameters())
    idm = make_policy("idm", latent_dim=16, hidden_dim=32, depth=2).eval()
    assert not idm.uses_horizon
    assert torch.equal(idm.predict(z, g, torch.full((4,), 9)), idm(z, g))


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    policy = make_policy("gc_idm", **CFG, horizon_max_period=500.0)
    stats = ActionStats(torch.zeros(2), torch.ones(2))
    save_policy(policy, "gc_idm", stats, tmp_path, {"world_model_sha256": "a" * 64})
    loaded, _, _ = load_policy(tmp_path / "shared_policy_backbone.pt", expected_latent_dim=16)
    assert isinstance(loaded, GCIDMPolicy) and loaded.cfg.horizon_max_period == 500.0
    z, g, k = torch.randn(3, 16), torch.randn(3, 16), torch.tensor([3, 20, 45])
    assert torch.equal(loaded(z, g, k), policy.eval()(z, g, k))
    m = get_method("gc_idm")
    assert m.learned and m.label == "GC-IDM" and m.backbone == "gc_idm"
    assert m.checkpoint_dir(2) == "checkpoints/gc_idm_backbone_latent/seed2"


# --- training on a real (tiny) latent cache -------------------------------------------------

TRAIN = {"steps": 60, "batch_size": 32, "lr": 3e-3, "smooth_weight": 0.01, "checkpoint_every": 20}


@pytest.fixture(scope="module")
def artifacts(tiny_latents):
    return tiny_latents[0]


def _train(root, out, state):
    return train_stage(
        "gc_idm", demo_path=root / "demos.h5", latents_path=root / "latents.pt",
        world_model_path=root / "wm.pt", out_dir=out, state_dir=state,
        policy_cfg={"hidden_dim": 32, "depth": 2, "horizon_dim": 8}, train_cfg=TRAIN,
        goal_offset_min=1, goal_offset_max=30, seed=5, progress=False,
    )


def test_training_lowers_loss_is_seeded_and_feeds_true_offsets(artifacts, tmp_path, monkeypatch):
    sampled, seen = [], []
    real_sample, real_forward = HindsightSampler.sample, GCIDMPolicy.forward

    def spy_sample(self, batch_size, seed, step):
        batch = real_sample(self, batch_size, seed, step)
        sampled.append(batch.offsets.clone())
        return batch

    def spy_forward(self, z, z_goal, remaining=None):
        seen.append(remaining.detach().clone())
        return real_forward(self, z, z_goal, remaining)

    monkeypatch.setattr(HindsightSampler, "sample", spy_sample)
    monkeypatch.setattr(GCIDMPolicy, "forward", spy_forward)
    meta = _train(artifacts, tmp_path / "a", tmp_path / "sa")
    # Every forward pass (60 training steps + 1 validation batch) got its batch's goal offsets.
    # The validation batch is drawn once before training and evaluated after the last step.
    assert len(seen) == len(sampled) == TRAIN["steps"] + 1
    in_use_order = sampled[1:] + sampled[:1]
    assert all(torch.equal(s, r) for s, r in zip(in_use_order, seen, strict=True))
    assert all(int(r.min()) >= 1 and int(r.max()) <= 30 for r in seen)
    assert len({int(x) for r in seen for x in r}) > 10  # a spread of horizons, not a constant
    monkeypatch.undo()

    log = [json.loads(x) for x in (tmp_path / "a" / "train_log.jsonl").read_text().splitlines()]
    assert len(log) == TRAIN["steps"] and meta["stage"] == "gc_idm"
    first, last = np.mean([r["bc"] for r in log[:10]]), np.mean([r["bc"] for r in log[-10:]])
    assert last < 0.8 * first, (first, last)

    _train(artifacts, tmp_path / "b", tmp_path / "sb")
    a, _, _ = load_policy(tmp_path / "a" / "shared_policy_backbone.pt")
    b, _, _ = load_policy(tmp_path / "b" / "shared_policy_backbone.pt")
    assert isinstance(a, GCIDMPolicy)
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(x, y), name
    assert (tmp_path / "a" / "train_log.jsonl").read_text() == (
        tmp_path / "b" / "train_log.jsonl"
    ).read_text()


# --- closed-loop controller -----------------------------------------------------------------


class _Encoder(torch.nn.Module):
    """Stands in for the world model: every frame encodes to the same (1, D) latent."""

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(x.shape[0], 4)


class _SpyPolicy(LatentPolicy):
    """Records the remaining steps it is given; returns a chunk of zeros."""

    def __init__(self, uses_horizon: bool, chunk_len: int = 1) -> None:
        super().__init__()
        self.uses_horizon, self.chunk_len, self.calls = uses_horizon, chunk_len, []

    def forward(self, z, z_goal, remaining=None):
        self.calls.append(None if remaining is None else remaining.tolist())
        return torch.zeros(z.shape[0], self.chunk_len, 2)


def test_controller_passes_offset_minus_t_clamped_at_one():
    frame = np.zeros((8, 8, 3), np.uint8)
    stats = ActionStats(torch.zeros(2), torch.ones(2))
    spy = _SpyPolicy(uses_horizon=True)
    ctrl = LatentPolicyController(_Encoder(), spy, stats, goal_offset=5)
    ctrl.reset(frame, start_row=0)
    for _ in range(8):  # budget 2 x offset would be 10; 8 steps cover the clamp
        ctrl.act(frame)
    assert spy.calls == [[5], [4], [3], [2], [1], [1], [1], [1]]
    ctrl.reset(frame, start_row=3)  # a new episode starts the count again
    ctrl.act(frame)
    assert spy.calls[-1] == [5]

    # With chunks executed open loop, each query is told the steps left at its own step.
    chunked = _SpyPolicy(uses_horizon=True, chunk_len=3)
    ctrl = LatentPolicyController(_Encoder(), chunked, stats, execute_chunk_size=3, goal_offset=7)
    ctrl.reset(frame, start_row=0)
    for _ in range(9):
        ctrl.act(frame)
    assert chunked.calls == [[7], [4], [1]]

    # Policies that do not read the horizon are called as before, and need no offset.
    plain = _SpyPolicy(uses_horizon=False)
    ctrl = LatentPolicyController(_Encoder(), plain, stats)
    ctrl.reset(frame, start_row=0)
    ctrl.act(frame)
    assert plain.calls == [None] and ctrl.remaining_steps() is None
    with pytest.raises(ValueError, match="goal_offset"):
        LatentPolicyController(_Encoder(), _SpyPolicy(uses_horizon=True), stats)
