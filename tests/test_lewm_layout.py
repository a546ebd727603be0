"""Files in LeWM's HDF5 layout: replaying recorded actions reproduces the recorded states and
frames (relative-action scale, 7-d state, set-state order), compressed files need hdf5plugin
with a clear error otherwise, and pixels are only ever read per window or per chunk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import h5py
import numpy as np
import pytest

from larc_core.data import DemoFile, WindowDataset
from larc_core.envs import PushTEnv

FIXTURES = Path(__file__).parent / "fixtures"
BLOSC_FILE = FIXTURES / "lewm_layout_blosc.h5"
RES = 224


def record_lewm_file(path: Path, seeds: tuple[int, ...] = (3, 8), steps: int = 30) -> Path:
    """Roll out raw gym-pusht the way LeWM's env does (PD target = agent + 100 * action) and
    write LeWM's keys only: pixels (224 px), action, state, proprio, episode/step ids, ep_len,
    ep_offset. Written without this package's reader/writer or env wrapper."""
    env = gym.make("gym_pusht/PushT-v0", obs_type="pixels", observation_width=RES,
                   observation_height=RES, disable_env_checker=True)
    raw = env.unwrapped
    rng = np.random.default_rng(0)
    pixels, states, actions, lengths = [], [], [], []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        for t in range(steps):
            agent = np.array(raw.agent.position, dtype=np.float64)
            block = np.array(raw.block.position, dtype=np.float64)
            states.append([*agent, *block, raw.block.angle, *raw.agent.velocity])
            pixels.append(obs)
            if t == steps - 1:
                actions.append(np.zeros(2, np.float32))
                break
            # Head for the block (so the rollout pushes it), with noise; LeWM's relative action.
            a = 0.35 * (block - agent) / max(np.linalg.norm(block - agent), 1.0)
            a = a + rng.normal(0, 0.05, 2)
            # Keep the PD target inside the walls, where LeWM's and raw gym-pusht's envs agree.
            a = ((np.clip(agent + 100.0 * a, 25.0, 487.0) - agent) / 100.0).astype(np.float32)
            actions.append(a)
            target = agent + 100.0 * a.astype(np.float64)
            assert np.all((target > 20) & (target < 492))
            obs, *_ = env.step(target)
        lengths.append(steps)
    env.close()
    state = np.array(states, np.float32)
    ep_len = np.array(lengths, np.int32)
    with h5py.File(path, "w") as f:
        f.create_dataset("pixels", data=np.array(pixels, np.uint8), chunks=(1, RES, RES, 3))
        f["action"] = np.array(actions, np.float32)
        f["state"] = state
        f["proprio"] = state[:, [0, 1, 5, 6]]
        f["episode_idx"] = np.repeat(np.arange(len(ep_len)), ep_len).astype(np.int64)
        f["step_idx"] = np.concatenate([np.arange(n) for n in ep_len]).astype(np.int64)
        f["ep_len"] = ep_len
        f["ep_offset"] = np.concatenate([[0], np.cumsum(ep_len)[:-1]]).astype(np.int64)
    return path


def replay(demo: DemoFile, episode: int, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Set the env to the episode's first recorded state, step its recorded actions; return the
    visited states (T, 7) and rendered frames (T, H, W, 3)."""
    rows = demo.episode_rows(episode)
    state, action = demo.state[rows], demo.action[rows]
    with PushTEnv(resolution=resolution) as env:
        env.reset_to_state(state[0])
        states, frames = [env.state], [env.render()]
        for a in action[:-1]:
            states.append(env.step(a))
            frames.append(env.render())
    return np.array(states), np.array(frames)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    return record_lewm_file(tmp_path_factory.mktemp("lewm") / "pusht_expert_train.h5")


def test_replaying_recorded_actions_reproduces_states_and_frames(recorded):
    with DemoFile(recorded) as demo:
        assert not demo.has_split and demo.resolution == RES
        for e in range(demo.n_episodes):
            rows = demo.episode_rows(e)
            want_states = demo.state[rows]
            want_frames = demo.frames(np.arange(rows.start, rows.stop))
            # The rollout moved the block, so the block pose carries information.
            assert np.linalg.norm(want_states[-1, 2:4] - want_states[0, 2:4]) > 5.0
            states, frames = replay(demo, e, RES)
            np.testing.assert_allclose(states, want_states, rtol=0, atol=1e-3)
            differing = np.any(frames != want_frames, axis=-1).mean()
            assert differing < 1e-3, f"episode {e}: {differing:.2%} of pixels differ"


def test_set_state_order_and_action_scale_matter(recorded):
    """The two conventions the replay depends on: without them it would not match."""
    with DemoFile(recorded) as demo:
        rows = demo.episode_rows(0)
        s0, a0, s1 = demo.state[rows.start], demo.action[rows.start], demo.state[rows.start + 1]
    env = gym.make("gym_pusht/PushT-v0", obs_type="state", disable_env_checker=True)
    env.reset(options={"reset_to_state": s0[:5].astype(np.float64)})  # naive: no CoG shift
    naive_block = np.array(env.unwrapped.block.position)
    env.close()
    assert abs(np.sin(s0[4])) > 0.5  # a turned block: the set-state order shows
    assert np.linalg.norm(naive_block - s0[2:4]) > 20.0
    with PushTEnv(resolution=32, render=False) as ours:
        ours.reset_to_state(s0)
        np.testing.assert_array_equal(ours.state[:5], s0[:5])
        ours.step_target(ours.agent_xy + a0.astype(np.float64))  # scale 1 instead of 100
        assert np.linalg.norm(ours.state[:2] - s1[:2]) > 1.0


def test_pixels_are_read_per_window_and_per_chunk(recorded, monkeypatch):
    reads: list[int] = []
    real = h5py.Dataset.__getitem__

    def spy(self, key):
        out = real(self, key)
        if self.name == "/pixels":
            reads.append(len(out))
        return out

    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    demo = DemoFile(recorded)
    assert demo.preload_pixels(max_bytes=10 * RES * RES * 3) is False  # too big: stays on disk
    windows = WindowDataset(demo, demo.train_episodes, num_frames=4, frameskip=5)
    item = windows[3]
    assert tuple(item["frames"].shape) == (4, RES, RES, 3)
    assert max(reads) <= 16  # one window spans 16 rows
    reads.clear()
    n = sum(len(block) for _, block in demo.iter_frame_chunks(7))
    assert n == demo.n_frames and max(reads) == 7


def _read_blosc_without_plugin() -> subprocess.CompletedProcess:
    code = (
        "import sys\n"
        "sys.modules['hdf5plugin'] = None  # as if the optional extra were not installed\n"
        "from larc_core.data import DemoFile\n"
        f"DemoFile({str(BLOSC_FILE)!r})\n"
    )
    env = {**os.environ, "HDF5_PLUGIN_PATH": str(FIXTURES / "no_plugins_here")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=600)


def test_blosc_file_without_hdf5plugin_names_filter_and_fix():
    res = _read_blosc_without_plugin()
    assert res.returncode != 0
    assert "ArtifactError" in res.stderr and "lewm_layout_blosc.h5" in res.stderr
    assert "'blosc' (HDF5 filter id 32001)" in res.stderr
    assert "pip install 'larc-core[hdf5]'" in res.stderr


def test_blosc_file_reads_and_replays_with_hdf5plugin():
    pytest.importorskip("hdf5plugin")
    with DemoFile(BLOSC_FILE) as demo:
        assert demo.n_episodes == 2 and demo.resolution == 32
        pixels = demo.frames(np.arange(demo.n_frames))
        assert pixels.shape == (7, 32, 32, 3) and pixels.std() > 0
        for e in range(demo.n_episodes):
            rows = demo.episode_rows(e)
            states, frames = replay(demo, e, 32)
            np.testing.assert_allclose(states, demo.state[rows], rtol=0, atol=1e-3)
            np.testing.assert_array_equal(frames, pixels[rows])


def test_non_finite_actions_read_as_zero_placeholders(recorded, tmp_path):
    path = tmp_path / "nan_actions.h5"
    with h5py.File(recorded, "r") as fin, h5py.File(path, "w") as fout:
        for key in fin:
            fout[key] = fin[key][()]
        action = fin["action"][()]
        last = fin["ep_offset"][()] + fin["ep_len"][()] - 1
        action[last] = np.nan
        fout["action"][...] = action
    with DemoFile(path) as demo:
        assert np.isfinite(demo.action).all()
        np.testing.assert_array_equal(demo.action[last], 0.0)
        np.testing.assert_array_equal(np.delete(demo.action, last, 0),
                                      np.delete(action, last, 0))
