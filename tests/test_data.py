"""Demonstrations: collection, LeWM-layout HDF5 file, reader validation, training windows."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from larc_core.data import (
    DemoFile,
    Episode,
    RandomPusher,
    WindowDataset,
    collect_demos,
    default_split,
    demo_statistics,
    write_demo_file,
)
from larc_core.data.collect import run_episode
from larc_core.data.expert import ExpertPusher, pose_cost
from larc_core.data.state_expert import StatePusher
from larc_core.envs import PushTEnv
from larc_core.envs.geometry import TEE_OUTLINE, body_to_world, tee_coverage
from larc_core.io import ArtifactError

LAYOUT = {
    "pixels": (np.uint8, (32, 32, 3)),
    "action": (np.float32, (2,)),
    "state": (np.float32, (7,)),
    "proprio": (np.float32, (4,)),
    "episode_idx": (np.int64, ()),
    "step_idx": (np.int64, ()),
}
COLLECT = dict(n_episodes=4, min_len=30, max_len=40, resolution=32, seed=3, val_fraction=0.25,
               progress=False)


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("demo") / "demo.h5"
    summary = collect_demos(path, workers=2, **COLLECT)
    return path, summary


def _synthetic(path: Path, lengths: tuple[int, ...] = (5, 7, 6)) -> Path:
    rng = np.random.default_rng(0)
    eps = []
    for t in lengths:
        action = rng.uniform(-1, 1, (t, 2)).astype(np.float32)
        action[-1] = 0.0
        eps.append(Episode(
            pixels=rng.integers(0, 255, (t, 8, 8, 3), dtype=np.uint8),
            state=rng.uniform(0, 500, (t, 7)).astype(np.float32),
            action=action,
        ))
    write_demo_file(path, eps, episode_split=(np.arange(len(lengths)) == 1).astype(np.int8))
    return path


def test_collected_file_has_lewm_layout(collected: tuple[Path, dict]) -> None:
    path, summary = collected
    with h5py.File(path, "r") as f:
        n = f["pixels"].shape[0]
        for key, (dtype, tail) in LAYOUT.items():
            assert f[key].dtype == dtype, key
            assert f[key].shape == (n, *tail), key
        ep_len, ep_offset = f["ep_len"][:], f["ep_offset"][:]
        assert f["ep_len"].dtype == np.int32 and f["ep_offset"].dtype == np.int64
        assert ep_len.shape == ep_offset.shape == (4,)
        assert np.all((ep_len >= 30) & (ep_len <= 40))
        np.testing.assert_array_equal(ep_offset, np.concatenate([[0], np.cumsum(ep_len)[:-1]]))
        assert ep_len.sum() == n == summary["frames"]
        np.testing.assert_array_equal(f["episode_idx"][:], np.repeat(np.arange(4), ep_len))
        np.testing.assert_array_equal(
            f["step_idx"][:], np.concatenate([np.arange(t) for t in ep_len])
        )
        np.testing.assert_array_equal(f["proprio"][:], f["state"][:][:, [0, 1, 5, 6]])
        # No action leaves an episode's last frame.
        np.testing.assert_array_equal(f["action"][:][ep_offset + ep_len - 1], 0.0)
        assert np.abs(f["action"][:]).max() <= 1.0 + 1e-6
        split = f["episode_split"][:]
        assert split.dtype == np.int8 and split.sum() == 1
        assert f.attrs["resolution"] == 32 and f.attrs["seed"] == 3
        assert f.attrs["val_fraction"] == 0.25 and f.attrs["action_scale"] == 100.0
        assert f.attrs["generator"] == "larc_core.data.state_expert.StatePusher"
        assert f["pixels"].chunks[0] == 64 and f["pixels"].compression is not None
    for key in ("contact_fraction", "median_block_displacement_25", "steps_per_s", "seconds"):
        assert key in summary


def test_recorded_frames_match_render_after_set_state(collected: tuple[Path, dict]) -> None:
    path, _ = collected
    with DemoFile(path) as demo, PushTEnv(resolution=32) as env:
        rows = np.concatenate([demo.ep_offset, demo.ep_offset[:2] + 17])
        frames = demo.frames(rows)
        for row, frame in zip(rows, frames, strict=True):
            env.reset_to_state(demo.state[row])
            np.testing.assert_array_equal(env.render(), frame, err_msg=f"row {row}")


def _assert_episode_replays(demo: DemoFile, env: PushTEnv, episode: int) -> None:
    """The episode's recorded actions, executed from its first state, give its recorded states."""
    rows = demo.episode_rows(episode)
    states, actions = demo.state[rows], demo.action[rows]
    replay = [env.reset_to_state(states[0])]
    replay += [env.step(a) for a in actions[:-1]]
    np.testing.assert_array_equal(np.array(replay), states, err_msg=f"episode {episode}")


def _assert_same_h5(path_a: Path, path_b: Path) -> None:
    """Two HDF5 files hold the same datasets, bit for bit."""
    with h5py.File(path_a, "r") as a, h5py.File(path_b, "r") as b:
        assert sorted(a.keys()) == sorted(b.keys())
        for key in a:
            np.testing.assert_array_equal(a[key][:], b[key][:], err_msg=key)


def test_recorded_actions_replay_to_recorded_states(collected: tuple[Path, dict]) -> None:
    path, _ = collected
    with DemoFile(path) as demo, PushTEnv(resolution=32, render=False) as env:
        _assert_episode_replays(demo, env, 1)


def test_collection_is_identical_for_any_worker_count(
    collected: tuple[Path, dict], tmp_path: Path
) -> None:
    path, _ = collected
    single = tmp_path / "single.h5"
    collect_demos(single, workers=1, **COLLECT)
    _assert_same_h5(path, single)


def test_writer_is_atomic(tmp_path: Path) -> None:
    dest = tmp_path / "out.h5"

    def episodes():
        yield Episode(np.zeros((3, 8, 8, 3), np.uint8), np.zeros((3, 7), np.float32),
                      np.zeros((3, 2), np.float32))
        raise RuntimeError("worker died")

    with pytest.raises(RuntimeError, match="worker died"):
        write_demo_file(dest, episodes())
    assert list(tmp_path.iterdir()) == []  # neither the file nor a temporary is left


def test_writer_rejects_bad_episodes(tmp_path: Path) -> None:
    bad = Episode(np.zeros((3, 8, 8, 4), np.uint8), np.zeros((3, 7), np.float32),
                  np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match=r"episode 0: pixels has shape \(3, 8, 8, 4\)"):
        write_demo_file(tmp_path / "x.h5", [bad])
    assert not (tmp_path / "x.h5").exists()


def test_reader_api(tmp_path: Path) -> None:
    path = _synthetic(tmp_path / "s.h5")
    with h5py.File(path, "r") as f:
        pixels = f["pixels"][:]
    with DemoFile(path) as demo:
        assert (demo.n_frames, demo.n_episodes, demo.resolution) == (18, 3, 8)
        np.testing.assert_array_equal(demo.ep_offset, [0, 5, 12])
        np.testing.assert_array_equal(demo.train_episodes, [0, 2])
        np.testing.assert_array_equal(demo.val_episodes, [1])
        assert demo.episode_rows(1) == slice(5, 12)
        rows = np.array([17, 3, 3, 0, 9, 16])
        np.testing.assert_array_equal(demo.frames(rows), pixels[rows])
        assert demo.frames(np.array([], dtype=np.int64)).shape == (0, 8, 8, 3)
        chunks = list(demo.iter_frame_chunks(chunk_size=4))
        assert [s for s, _ in chunks] == [0, 4, 8, 12, 16]
        np.testing.assert_array_equal(np.concatenate([c for _, c in chunks]), pixels)
        with pytest.raises(IndexError, match=r"\[0, 18\)"):
            demo.frames(np.array([18]))
        clone = pickle.loads(pickle.dumps(demo))  # what DataLoader workers receive
        np.testing.assert_array_equal(clone.frames(np.array([2])), pixels[[2]])
        clone.close()


def test_default_split_for_files_without_one(tmp_path: Path) -> None:
    path = _synthetic(tmp_path / "s.h5", lengths=(3,) * 20)
    with h5py.File(path, "a") as f:
        del f["episode_split"]
    with DemoFile(path) as demo:
        assert not demo.has_split
        val, train = demo.val_episodes, demo.train_episodes
        assert len(val) == 2 and len(train) == 18
        assert np.intersect1d(val, train).size == 0
        np.testing.assert_array_equal(
            val, np.sort(np.random.default_rng(0).permutation(20)[:2])
        )
        np.testing.assert_array_equal(default_split(20), demo.split)


def _mutated(tmp_path: Path, edit) -> Path:
    path = _synthetic(tmp_path / "m.h5")
    with h5py.File(path, "a") as f:
        edit(f)
    return path


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (lambda f: f.__delitem__("state"), r"missing key 'state'"),
        (
            lambda f: (f.__delitem__("pixels"),
                       f.create_dataset("pixels", data=np.zeros((18, 8, 8, 4), np.uint8))),
            r"'pixels' has shape \(18, 8, 8, 4\) dtype uint8, expected \(N, H, W, 3\) uint8",
        ),
        (
            lambda f: (f.__delitem__("action"),
                       f.create_dataset("action", data=np.zeros((17, 2), np.float32))),
            r"'action' has 17 rows but 'pixels' has 18",
        ),
        (
            lambda f: (f.__delitem__("state"),
                       f.create_dataset("state", data=np.zeros((18, 7), np.int32))),
            r"'state' has shape \(18, 7\) dtype int32, expected \(N, 7\) a float dtype",
        ),
        (lambda f: f["ep_offset"].__setitem__(1, 4), r"'ep_offset'\[1\] = 4, expected 5"),
        (lambda f: f["ep_len"].__setitem__(2, 5), r"'ep_len' sums to 17 rows but 'pixels' has 18"),
    ],
)
def test_reader_names_file_and_key_on_bad_content(tmp_path: Path, edit, pattern: str) -> None:
    path = _mutated(tmp_path, edit)
    with pytest.raises(ArtifactError, match=pattern) as info:
        DemoFile(path)
    assert str(path) in str(info.value)


def test_reader_errors_on_missing_and_truncated_files(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="demo file not found: .*nope.h5"):
        DemoFile(tmp_path / "nope.h5")
    path = _synthetic(tmp_path / "t.h5")
    truncated = tmp_path / "truncated.h5"
    shutil.copy(path, truncated)
    with open(truncated, "r+b") as fh:
        fh.truncate(truncated.stat().st_size // 2)
    with pytest.raises(ArtifactError, match=r"truncated.h5 is corrupt"):
        DemoFile(truncated)
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not an hdf5 file")
    with pytest.raises(ArtifactError, match=r"junk.h5 is corrupt"):
        DemoFile(junk)


def test_window_dataset_matches_raw_rows(collected: tuple[Path, dict]) -> None:
    path, _ = collected
    demo = DemoFile(path)
    eps = demo.train_episodes
    ds = WindowDataset(demo, eps, num_frames=4, frameskip=5)
    assert len(ds) == int(sum(max(0, demo.ep_len[e] - 20 + 1) for e in eps))
    with h5py.File(path, "r") as f:
        pixels, action = f["pixels"][:], f["action"][:]
    for i in (0, len(ds) // 2, len(ds) - 1):
        item = ds[i]
        r = item["row"]
        assert item["frames"].dtype == torch.uint8 and item["frames"].shape == (4, 32, 32, 3)
        assert item["actions"].dtype == torch.float32 and item["actions"].shape == (4, 10)
        np.testing.assert_array_equal(item["frames"].numpy(), pixels[r + 5 * np.arange(4)])
        for t in range(4):
            block = action[r + 5 * t : r + 5 * (t + 1)]  # (5, 2) -> [a0x, a0y, a1x, ...]
            np.testing.assert_array_equal(item["actions"][t].numpy(), block.reshape(-1))
        rows = demo.episode_rows(item["episode"])
        assert rows.start <= r and r + 19 < rows.stop  # every block inside one episode
    loader = torch.utils.data.DataLoader(ds, batch_size=8, num_workers=1)
    batch = next(iter(loader))
    assert batch["frames"].shape == (8, 4, 32, 32, 3)
    demo.close()


def test_pusher_moves_the_block() -> None:
    states, actions = [], []
    with PushTEnv(render=False) as env:
        for e in range(3):
            pusher = RandomPusher(np.random.default_rng(e))
            s = env.reset_random(100 + e)
            ep = [s]
            for _ in range(79):
                actions.append(pusher.act(s))
                s = env.step(actions[-1])
                ep.append(s)
            states.append(np.array(ep))
    stats = demo_statistics(np.concatenate(states), np.array([80, 80, 80]))
    assert stats["median_block_displacement_25"] > 10.0
    assert 0.15 < stats["contact_fraction"] < 0.7
    assert np.linalg.norm(np.array(actions), axis=1).max() <= 1.0 + 1e-6


def test_preloaded_frames_equal_streamed_frames(collected: tuple[Path, dict]) -> None:
    path, _ = collected
    rows = np.array([5, 0, 77, 5, 31])
    streamed = DemoFile(path)
    small = DemoFile(path)
    assert not small.preload_pixels(max_bytes=10)  # over the limit: stays streamed
    assert small.preload_pixels(max_bytes=2**30)
    np.testing.assert_array_equal(small.frames(rows), streamed.frames(rows))
    # Pickled for DataLoader workers, the in-memory copy is dropped (workers stream).
    assert "pixels" not in pickle.loads(pickle.dumps(small))._cache


def test_expert_brings_the_block_toward_the_goal_pose() -> None:
    """The expert demonstrator pushes the T toward the green goal pose; the random pusher's
    pushes are undirected. Same starts, real simulator."""
    costs = {}
    for cls in (ExpertPusher, RandomPusher):
        with PushTEnv(render=False) as env:
            finals, starts = [], []
            for e in range(4):
                pusher = cls(np.random.default_rng(e))
                s = env.reset_random(200 + e)
                starts.append(pose_cost(s[2:5].astype(np.float64)))
                for _ in range(150):
                    s = env.step(pusher.act(s))
                finals.append(pose_cost(s[2:5].astype(np.float64)))
        costs[cls.__name__] = (np.mean(starts), np.mean(finals))
    start, final = costs["ExpertPusher"]
    assert final < 0.7 * start
    assert final < costs["RandomPusher"][1]


def test_expert_is_reproducible_from_its_seed() -> None:
    def run() -> np.ndarray:
        with PushTEnv(render=False) as env:
            pusher, s, acts = ExpertPusher(np.random.default_rng(7)), env.reset_random(7), []
            for _ in range(60):
                acts.append(pusher.act(s))
                s = env.step(acts[-1])
        return np.array(acts)

    np.testing.assert_array_equal(run(), run())


# -- the state expert (default demonstrator) ---------------------------------------------------
def _state_expert_runs(n_starts: int, steps: int = 300) -> list[np.ndarray]:
    """State trajectories (T, 7) of the state expert from gym-pusht's random starts 0..n-1,
    each ending the step the expert's own end test passes."""
    runs = []
    with PushTEnv(render=False) as env:
        for seed in range(n_starts):
            pusher, s = StatePusher(), env.reset_random(seed)
            states = [s]
            while len(states) < steps and not pusher.done(s):
                s = env.step(pusher.act(s))
                states.append(s)
            runs.append(np.array(states))
    return runs


@pytest.fixture(scope="module")
def state_expert_runs() -> list[np.ndarray]:
    return _state_expert_runs(40)


def test_state_expert_solves_random_starts_and_stays_off_the_walls(
    state_expert_runs: list[np.ndarray],
) -> None:
    """Wall-safe over many random starts: every corner of the T stays inside the arena (the
    kinematic agent could squeeze the block through a wall) and nearly every start ends in
    gym-pusht's own success, the block covering more than 95% of the target T, within 300 steps
    (measured: 800 of 800 episodes drawn as collection draws them)."""
    solved = 0
    for states in state_expert_runs:
        corners = body_to_world(TEE_OUTLINE, states[:, None, 2:5].astype(np.float64))
        assert corners.min() > 5.0 and corners.max() < 507.0
        assert np.all((states[:, :2] >= 15.0) & (states[:, :2] <= 497.0))
        solved += StatePusher().done(states[-1]) and tee_coverage(states[-1, 2:5]) > 0.95
    assert solved >= 0.95 * len(state_expert_runs)


def test_state_expert_action_is_a_function_of_the_positions(
    state_expert_runs: list[np.ndarray],
) -> None:
    """Same state, same action: a fresh pusher and one that has acted for a whole episode
    agree on every visited state, and the agent velocity (which would reveal the previous
    action) changes nothing."""
    used = StatePusher()
    for states in state_expert_runs[:5]:
        for s in states[::7]:
            a = used.act(s)
            np.testing.assert_array_equal(a, StatePusher().act(s))
            moved = s.copy()
            moved[5:7] = [123.0, -77.0]
            np.testing.assert_array_equal(a, used.act(moved))


def test_state_expert_episodes_are_deterministic_for_a_seed() -> None:
    """The same seed sequence gives the same episode bit for bit (start draw and actions);
    episodes end at the goal pose or at max_len, never shorter than min_len."""
    seq = np.random.SeedSequence(11).spawn(3)
    first = [run_episode(ss, 50, 300, None, "state_expert") for ss in seq]
    again = [run_episode(ss, 50, 300, None, "state_expert") for ss in seq]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.state, b.state)
        np.testing.assert_array_equal(a.action, b.action)
        assert 50 <= len(a.state) <= 300
        assert len(a.state) == 300 or StatePusher().done(a.state[-1])
        assert not np.any(a.action[-1])
    assert len({len(a.state) for a in first}) > 1  # lengths follow the task, not a draw


def test_data_report_describes_the_file(collected: tuple[Path, dict], tmp_path: Path) -> None:
    """results/data.md's numbers are the file's: episode and frame counts, lengths, solved
    share by the pose part of the expert's end test, gym-pusht's coverage, and the contact / displacement figures of collection."""
    from larc_core.reporting.data import write_data_report

    path, summary = collected
    out = tmp_path / "results"
    stats = write_data_report(path, out / "data.md", out / "data.json", out / "figures/data.png")
    with DemoFile(path) as demo:
        ep_len, state = np.asarray(demo.ep_len), np.asarray(demo.state)
        last = state[np.asarray(demo.ep_offset) + ep_len - 1]
    assert stats["episodes"] == summary["episodes"] and stats["frames"] == summary["frames"]
    assert stats["ep_len"]["min"] == ep_len.min() and stats["ep_len"]["max"] == ep_len.max()
    pose_test = StatePusher(done_coverage=None)
    assert stats["solved_fraction"] == np.mean([pose_test.done(s) for s in last])
    coverage = np.array([tee_coverage(s[2:5]) for s in last])
    assert stats["final_coverage"]["success_fraction"] == np.mean(coverage > 0.95)
    assert stats["final_coverage"]["median"] == pytest.approx(np.median(coverage))
    assert stats["contact_fraction"] == pytest.approx(summary["contact_fraction"])
    assert stats["displacement"]["25"]["median"] == pytest.approx(
        summary["median_block_displacement_25"])
    md = (out / "data.md").read_text()
    assert f"| {stats['episodes']} (" in md and "18,685" in md and "figures/data.png" in md
    assert "episodes ending above gym-pusht's coverage 0.95" in md
    assert json.loads((out / "data.json").read_text())["frames"] == stats["frames"]
    assert (out / "figures/data.png").stat().st_size > 10_000


REPLAY = dict(COLLECT, n_episodes=3, demonstrator="noisy_replay", replay_noise=[0.0, 1.0, 2.0])


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("replay") / "demo.h5"
    return path, collect_demos(path, workers=2, **REPLAY)


def test_noisy_replays_follow_their_source(replayed: tuple[Path, dict],
                                           collected: tuple[Path, dict]) -> None:
    """Each source episode, then one replay per noise level from the same start state and of
    the same length; the noise-0 replay is the state expert's own episode (the file that
    ``state_expert`` records with the same seed), the noisy ones differ from it."""
    path, summary = replayed
    with DemoFile(path) as demo, DemoFile(collected[0]) as expert:
        assert summary["episodes"] == 9 and demo.n_episodes == 9
        np.testing.assert_array_equal(demo.episode_source, np.repeat(np.arange(3), 3))
        np.testing.assert_array_equal(demo.episode_noise, np.tile([0.0, 1.0, 2.0], 3))
        split = np.asarray(demo.split)
        assert (split.reshape(3, 3) == split.reshape(3, 3)[:, :1]).all()  # a source's split
        for src in range(3):
            rows = [demo.episode_rows(3 * src + k) for k in range(3)]
            own = expert.episode_rows(src)
            np.testing.assert_array_equal(demo.state[rows[0]], expert.state[own])
            np.testing.assert_array_equal(demo.frames(np.arange(rows[0].start, rows[0].stop)),
                                          expert.frames(np.arange(own.start, own.stop)))
            for k in (1, 2):
                assert rows[k].stop - rows[k].start == own.stop - own.start
                np.testing.assert_array_equal(demo.state[rows[k]][0], expert.state[own][0])
                assert not np.array_equal(demo.action[rows[k]], expert.action[own])
        std = np.asarray(demo.attrs["replay_action_std"])
        rows = demo.episode_rows(2)  # noise level 2: executed - recorded ~ N(0, (2 std)^2)
        noise = demo.action[rows][:-1] - expert.action[expert.episode_rows(0)][:-1]
        assert np.all(np.abs(noise.std(axis=0) / (2 * std) - 1) < 0.35)


def test_noisy_replays_reproduce_their_states_and_are_deterministic(
    replayed: tuple[Path, dict], tmp_path: Path
) -> None:
    """The recorded (executed) actions replayed from the start state give the recorded states
    bit for bit, and the same seed gives the same file with one worker or two."""
    path, _ = replayed
    with DemoFile(path) as demo, PushTEnv(resolution=32, render=False) as env:
        for e in range(demo.n_episodes):
            _assert_episode_replays(demo, env, e)
    single = tmp_path / "single.h5"
    collect_demos(single, workers=1, **REPLAY)
    _assert_same_h5(path, single)


def test_noisy_replay_settings_are_checked(tmp_path: Path) -> None:
    for bad in ([], [-0.5], [float("nan")]):
        with pytest.raises(ValueError, match="data.replay.noise"):
            collect_demos(tmp_path / "x.h5", workers=1, **dict(REPLAY, replay_noise=bad))
    with pytest.raises(ValueError, match="data.replay.source"):
        collect_demos(tmp_path / "x.h5", workers=1, **dict(REPLAY, replay_source="human"))
    assert not list(tmp_path.iterdir())


def test_action_variation_tells_a_deterministic_expert_from_noisy_replays() -> None:
    """The data report's statistic: near 0 when the action is a function of the pose, near 1
    when the pose says nothing about it."""
    from larc_core.reporting.data import action_variation

    rng = np.random.default_rng(0)
    n = 4000
    state = np.zeros((n, 7))
    state[:, :4] = rng.uniform(100, 400, (n, 4))
    episode = np.arange(n) // 40
    rows = np.arange(n)
    determined = np.column_stack([np.sin(state[:, 0] / 50), np.cos(state[:, 1] / 50)])
    random = rng.normal(size=(n, 2))
    low = action_variation(state, determined, rows, episode)["conditional_std_ratio"]
    high = action_variation(state, random, rows, episode)["conditional_std_ratio"]
    assert low < 0.5 < 0.9 < high
