"""gym-pusht's own task: its coverage test, LeRobot's episode record, retrieval subgoals, MP4
videos and the report's checks of the records it reads."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from larc_core.envs import PushTEnv
from larc_core.envs.geometry import GOAL_POSE, SUCCESS_COVERAGE, tee_coverage
from larc_core.evaluation.standard import SubgoalLibrary, run_standard_episode
from larc_core.io import ArtifactError
from larc_core.reporting.standard import write_standard_report
from larc_core.video import mp4_info, write_mp4


class _Hold:
    """Holds the agent still (a controller: reset(goal, row), act(frame))."""

    def reset(self, goal_frame, start_row):
        self.goal = goal_frame

    def act(self, frame):
        return np.zeros(2, np.float32)


def test_coverage_is_gym_pushts_own_and_solved_only_on_the_target():
    with PushTEnv(render=False) as env:
        env.reset_to_state([100.0, 100.0, *GOAL_POSE])
        assert env.coverage() > 0.999
        env.reset_to_state([100.0, 100.0, GOAL_POSE[0] + 12.0, GOAL_POSE[1], GOAL_POSE[2]])
        assert 0.5 < env.coverage() < SUCCESS_COVERAGE
        env.reset_random(1000)
        assert env.coverage() == pytest.approx(env._env._get_coverage())
        # The same number from the block pose alone (results/data.md's success column).
        rng = np.random.default_rng(0)
        for dx, dy, dth in rng.normal(0.0, [6.0, 6.0, 0.08], size=(8, 3)):
            pose = GOAL_POSE + [dx, dy, dth]
            env.reset_to_state([100.0, 100.0, *pose])
            assert tee_coverage(pose) == pytest.approx(env.coverage(), abs=1e-6)


def test_an_episode_records_lerobots_fields_and_stops_at_coverage(monkeypatch):
    with PushTEnv() as env:
        goal = env.render()
        frames: list[np.ndarray] = []
        rec = run_standard_episode(env, _Hold(), 1000, goal, 5, frames, video_size=256)
        assert not rec["success"] and rec["steps"] == 5 and rec["seed"] == 1000
        assert rec["max_reward"] == pytest.approx(min(rec["max_coverage"] / 0.95, 1.0))
        assert len(frames) == 6 and frames[0].shape == (256, 256, 3)
        # The same start put on the target: solved at the first step, the episode ends there.
        monkeypatch.setattr(env, "reset_random",
                            lambda seed: env.reset_to_state([100.0, 100.0, *GOAL_POSE]))
        rec = run_standard_episode(env, _Hold(), 1000, goal, 300)
        assert rec["success"] and rec["steps"] == 1 and rec["max_reward"] == 1.0


class _Demo:
    """Two expert episodes (noise 0) and one noisy replay, rows 0-4, 5-8, 9-11."""

    ep_offset = np.array([0, 5, 9])
    ep_len = np.array([5, 4, 3])
    train_episodes = np.array([0, 1, 2])
    episode_noise = np.array([0.0, 0.0, 1.0])
    path = "demo.h5"


def test_retrieval_subgoals_come_from_the_experts_own_episodes_clamped_to_their_end():
    latents = torch.arange(12, dtype=torch.float32)[:, None].repeat(1, 3)
    lib = SubgoalLibrary(latents, _Demo(), offset=2)
    assert lib.rows.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8]  # the noisy replay left out
    goal, rows = lib.subgoal(latents[1:2] + 0.1)
    assert torch.equal(goal, latents[3:4]) and rows == 2
    goal, rows = lib.subgoal(latents[7:8])
    assert torch.equal(goal, latents[8:9]) and rows == 1  # the episode's last row
    with pytest.raises(ValueError, match="subgoal_offset"):
        SubgoalLibrary(latents, _Demo(), offset=0)


def test_mp4_round_trip_and_refusals(tmp_path):
    frames = [np.full((256, 512, 3), 20 * i, np.uint8) for i in range(7)]
    path = write_mp4(frames, tmp_path / "v.mp4", fps=10)
    assert mp4_info(path) == {"codec": "h264", "width": 512, "height": 256, "fps": 10.0,
                              "frames": 7}
    with pytest.raises(ValueError, match="even"):
        write_mp4([np.zeros((255, 256, 3), np.uint8)], tmp_path / "odd.mp4")
    with pytest.raises(ValueError, match="among frames"):
        write_mp4([frames[0], np.zeros((64, 64, 3), np.uint8)], tmp_path / "mixed.mp4")
    assert not list(tmp_path.glob("*odd*")) and not list(tmp_path.glob("*mixed*"))
    assert not list(tmp_path.glob(".*tmp*"))  # no half-written video left behind


SETTINGS = {"labels": {"larc_idm": "LARC-IDM"}, "start_seed": 1000, "n_episodes": 2,
            "subgoal": "retrieval", "subgoal_offset": 40,
            "references": [{"label": "LeRobot Diffusion Policy", "pc_success": 63.8,
                            "n_episodes": 500}]}


def _info(root, method="larc_idm", seed=0, place=("larc_idm", 0), **larc):
    folder = root / place[0] / f"seed{place[1]}"
    folder.mkdir(parents=True)
    eps = [{"seed": 1000 + i, "success": i == 0, "steps": 10, "sum_reward": 5.0,
            "max_reward": 1.0 if i == 0 else 0.5, "max_coverage": 0.97 if i == 0 else 0.47}
           for i in range(2)]
    doc = {"per_episode": eps,
           "overall": {"pc_success": 50.0, "n_episodes": 2, "eval_ep_s": 1.0,
                       "video_paths": []},
           "larc": {"method": method, "seed": seed, "start_seed": 1000, "subgoal": "retrieval",
                    "subgoal_offset": 40, **larc}}
    (folder / "eval_info.json").write_text(json.dumps(doc))
    return str(folder / "eval_info.json")


def test_report_pools_seeds_beside_the_published_number(tmp_path):
    files = [_info(tmp_path, seed=0, place=("larc_idm", 0)),
             _info(tmp_path, seed=1, place=("larc_idm", 1))]
    res = write_standard_report(files, SETTINGS, tmp_path / "s.md", tmp_path / "s.json")
    row = res["rows"][0]
    assert (row["successes"], row["n_episodes"], row["pc_success"]) == (2, 4, 50.0)
    assert "63.8%" in (tmp_path / "s.md").read_text()


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "larc_chunk"}, "holds method 'larc_chunk'"),
    ({"seed": 2}, "seed 2"),
    ({"start_seed": 100000}, "start_seed=100000"),
])
def test_report_refuses_a_record_that_disagrees_with_its_place_or_the_config(
        tmp_path, kwargs, message):
    larc = {k: v for k, v in kwargs.items() if k not in ("method", "seed")}
    f = _info(tmp_path, method=kwargs.get("method", "larc_idm"), seed=kwargs.get("seed", 0),
              **larc)
    with pytest.raises(ArtifactError, match=message):
        write_standard_report([f], SETTINGS, tmp_path / "s.md", tmp_path / "s.json")
    assert not (tmp_path / "s.md").exists()
