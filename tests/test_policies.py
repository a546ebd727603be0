"""Policies, registry, checkpoints and the three LARC losses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from larc_core.engine.sampler import HindsightSampler
from larc_core.io import ArtifactError
from larc_core.losses import bc_loss, chunk_to_blocks, rollout_consistency_loss, smoothness_loss
from larc_core.policies import POLICY_REGISTRY, ActionStats, make_policy
from larc_core.policies.checkpoint import load_policy, save_policy
from larc_core.world_model import WorldModel, WorldModelConfig


def test_registry_and_shapes():
    assert set(POLICY_REGISTRY) == {"idm", "chunk", "gc_idm"}
    z, g = torch.randn(5, 16), torch.randn(5, 16)
    idm = make_policy("idm", latent_dim=16, hidden_dim=32, depth=2)
    chunk = make_policy("chunk", latent_dim=16, hidden_dim=32, depth=2, chunk_len=10)
    assert idm(z, g).shape == (5, 1, 2)
    assert chunk(z, g).shape == (5, 10, 2)
    with pytest.raises(KeyError, match="unknown policy"):
        make_policy("diffusion")
    with pytest.raises(KeyError, match="chunk_size"):
        make_policy("chunk", chunk_size=3)


def test_action_stats_round_trip():
    a = torch.randn(100, 2) * torch.tensor([0.3, 0.1]) + torch.tensor([0.05, -0.02])
    s = ActionStats.from_actions(a)
    assert torch.allclose(s.denormalize(s.normalize(a)), a, atol=1e-6)
    assert torch.allclose(s.normalize(a).mean(0), torch.zeros(2), atol=1e-5)


def test_losses():
    a = torch.zeros(3, 4, 2)
    assert bc_loss(a, a) == 0
    assert smoothness_loss(a) == 0
    assert smoothness_loss(torch.zeros(3, 1, 2)) == 0
    zig = torch.tensor([[[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]]])
    assert smoothness_loss(zig) == pytest.approx(1.0)
    chunk = torch.arange(2 * 10 * 2, dtype=torch.float32).view(2, 10, 2)
    blocks = chunk_to_blocks(chunk, 5)
    assert blocks.shape == (2, 2, 10)
    assert torch.equal(blocks[0, 1], chunk[0, 5:10].reshape(-1))
    with pytest.raises(ValueError, match="multiple"):
        chunk_to_blocks(chunk[:, :7], 5)


def _tiny_world_model() -> WorldModel:
    cfg = WorldModelConfig.from_dict(
        dict(encoder="cnn", image_size=32, cnn_channels=[8, 16], latent_dim=16,
             projector_hidden=32, action_embed_hidden=32, depth=1, heads=2, head_dim=8,
             mlp_dim=32, frameskip=5, history=3)
    )
    wm = WorldModel(cfg)
    # AdaLN-zero starts with the action ignored; perturb it as training would.
    with torch.no_grad():
        for name, p in wm.named_parameters():
            if "adaLN" in name:
                p.normal_(0, 0.1)
    return wm.freeze()


def test_rollout_consistency_gradient_reaches_policy_only():
    torch.manual_seed(0)
    wm = _tiny_world_model()
    policy = make_policy("chunk", latent_dim=16, hidden_dim=32, depth=1, chunk_len=10)
    z, zg, zf = torch.randn(4, 16), torch.randn(4, 16), torch.randn(4, 16)
    loss = rollout_consistency_loss(wm, z, policy(z, zg), zf, frameskip=5)
    loss.backward()
    assert all(p.grad is None for p in wm.parameters())
    grads = [p.grad for p in policy.parameters()]
    assert all(g is not None for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0


def test_checkpoint_round_trip_and_errors(tmp_path):
    policy = make_policy("chunk", latent_dim=16, hidden_dim=32, depth=1, chunk_len=10)
    stats = ActionStats(torch.tensor([0.1, 0.2]), torch.tensor([1.0, 2.0]))
    save_policy(policy, "chunk", stats, tmp_path, {"world_model_sha256": "a" * 64})
    loaded, s2, meta = load_policy(tmp_path / "shared_policy_backbone.pt")
    z, g = torch.randn(2, 16), torch.randn(2, 16)
    assert torch.equal(loaded(z, g), policy.eval()(z, g))
    assert torch.equal(s2.std, stats.std)
    with pytest.raises(ArtifactError, match="trained on latents of world model"):
        load_policy(tmp_path / "shared_policy_backbone.pt", expected_world_model_sha256="b" * 64)
    with pytest.raises(ArtifactError, match="32-d latents"):
        load_policy(tmp_path / "shared_policy_backbone.pt", expected_latent_dim=32)
    (tmp_path / "trunc.pt").write_bytes((tmp_path / "shared_policy_backbone.pt").read_bytes()[:100])
    with pytest.raises(ArtifactError, match="corrupt or truncated"):
        load_policy(tmp_path / "trunc.pt", tmp_path / "action_stats.pt")


def test_hindsight_sampler_stays_inside_episodes():
    ep_len = np.array([30, 40, 25])
    ep_offset = np.concatenate([[0], np.cumsum(ep_len)[:-1]])
    n = int(ep_len.sum())
    latents = torch.arange(n, dtype=torch.float32).unsqueeze(1).repeat(1, 4)
    actions = np.stack([np.arange(n), -np.arange(n)], 1).astype(np.float32)
    ep_of_row = np.repeat(np.arange(3), ep_len)
    s = HindsightSampler(latents, actions, ep_offset, ep_len, np.array([0, 1, 2]), 10, 1, 50)
    b = s.sample(512, seed=3, step=7)
    t = b.z[:, 0].long().numpy()
    goal = b.z_goal[:, 0].long().numpy()
    assert np.all(ep_of_row[t] == ep_of_row[goal])
    assert np.all(goal - t == b.offsets.numpy()) and b.offsets.min() >= 1
    assert np.all(b.z_future[:, 0].long().numpy() == t + 10)
    # every action in the chunk is a real action (never an episode's padded last row)
    last_rows = ep_offset + ep_len - 1
    assert not np.isin(b.actions[:, :, 0].long().numpy(), last_rows).any()
    again = s.sample(512, seed=3, step=7)
    assert torch.equal(again.z, b.z) and torch.equal(again.z_goal, b.z_goal)
    assert torch.equal(b.z_path[:, 0], b.z_future)  # default path: the chunk's end only
    # WM-FT's path over two chunks, block by block: the same draws, every row still inside
    far = HindsightSampler(latents, actions, ep_offset, ep_len, np.array([0, 1, 2]), 10, 1, 50,
                           horizon=20, stride=5)
    fb = far.sample(512, seed=3, step=7)
    ft = fb.z[:, 0].long().numpy()
    assert np.array_equal(fb.z_path[:, :, 0].long().numpy(), ft[:, None] + [5, 10, 15, 20])
    assert np.all(ep_of_row[ft] == ep_of_row[ft + 20])
    with pytest.raises(ValueError, match="multiple of stride"):
        HindsightSampler(latents, actions, ep_offset, ep_len, np.array([0]), 10, 1, 50,
                         horizon=20, stride=3)


def test_imagined_chunks_continue_one_rollout():
    """Two chunks imagined one after the other are the predictor's rollout of both chunks'
    blocks (the history carried over); the second chunk is the policy's on the imagined
    latent."""
    from larc_core.losses import imagine_chunks

    torch.manual_seed(0)
    wm = _tiny_world_model()
    z, first, second = torch.randn(4, 16), torch.randn(4, 10, 2), torch.randn(4, 10, 2)
    seen = []

    def act(z_now, j):
        seen.append((j, z_now))
        return second

    out = imagine_chunks(wm, act, z, first, 2, 5)
    ref = wm.rollout(z[:, None], torch.cat([chunk_to_blocks(first, 5),
                                             chunk_to_blocks(second, 5)], 1))
    assert out.shape == (4, 4, 16) and torch.allclose(out, ref, atol=1e-6)
    assert len(seen) == 1 and seen[0][0] == 1 and torch.allclose(seen[0][1], out[:, 1])
