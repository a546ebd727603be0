"""Bad inputs as a hostile user gives them: each case runs the real `larc` CLI on the smoke run's
artifacts and must stop with one clear line naming the file, key or value and what was expected
(no traceback), leaving nothing complete-looking behind. The restore and concurrency cases run
in tests/test_workflow_e2e.py (they need DVC and several processes)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

WM = "checkpoints/world_model/world_model.pt"
LATENTS = "data/pusht_frame_latents.pt"
DEMOS = "data/pusht_expert_train.h5"
CHUNK = "checkpoints/larc_chunk_backbone_latent/seed0"
PAIRS = "results/eval/pairs_h25.json"


@pytest.fixture(scope="module")
def bad(smoke_run, tmp_path_factory) -> Path:
    """A folder with the smoke run's config and artifacts (links), and ``other.h5``: the demo
    file with one state changed, so the same frame count but other content."""
    work, _ = smoke_run
    root = tmp_path_factory.mktemp("bad")
    shutil.copytree(work / "config", root / "config")
    for rel in (WM, LATENTS, DEMOS, CHUNK, PAIRS):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).symlink_to(work / rel)
    shutil.copy2(work / DEMOS, root / "other.h5")
    with h5py.File(root / "other.h5", "r+") as f:
        f["state"][5, 2] += 3.0
    return root


def larc(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "larc_core.cli", *args[:1], "--config",
                           "config/smoke.yaml", *args[1:]], cwd=root, capture_output=True,
                          text=True, timeout=600)


CASES = {
    # Provenance: content, not row counts.
    "latents from another demo file": (
        ["train-chunk", "--demos", "other.h5", "--out-dir", "out/chunk"],
        ["was encoded from", "not from other.h5", "rerun cache_latents"], "out/chunk"),
    "pairs drawn from another demo file": (
        ["eval", "--method", "noop", "--offset", "25", "--demos", "other.h5", "--pairs", PAIRS,
         "--out", "out/noop.json"],
        ["pairs file results/eval/pairs_h25.json was drawn from", "not from other.h5",
         "rerun eval_pairs"], "out/noop.json"),
    # Config and checkpoint must agree.
    "world model latent_dim changed after training": (
        ["cache-latents", "--set", "world_model.model.latent_dim=8", "--out", "out/l.pt"],
        ["world_model.model.latent_dim: config 8, checkpoint 16", "Rerun train_world_model",
         "--accept-checkpoint-config"], "out/l.pt"),
    "policy hidden_dim changed after training": (
        ["eval", "--method", "larc_chunk", "--offset", "25", "--seed", "0", "--set",
         "policy.chunk.hidden_dim=64", "--out", "out/chunk.json"],
        ["policy.chunk.hidden_dim: config 64, checkpoint 32", "Rerun train_chunk"],
        "out/chunk.json"),
    "chunk_len changed before WM-FT": (
        ["train-wm-ft", "--seed", "0", "--set", "policy.chunk.chunk_len=5", "--out-dir",
         "out/wmft"],
        ["policy.chunk.chunk_len: config 5, checkpoint 10"], "out/wmft"),
    "CEM row with a world model of another size": (
        ["eval", "--method", "cem_commit5", "--offset", "25", "--set",
         "world_model.model.depth=2", "--out", "out/cem.json"],
        ["world_model.model.depth: config 2, checkpoint 1"], "out/cem.json"),
    # Cross-field checks before any work.
    "image size the decoder cannot reach": (
        ["validate-config", "--set", "world_model.model.image_size=17", "--set",
         "data.resolution=17", "--set", "world_model.model.decoder_channels=[8, 8, 8]"],
        ["world_model.model: decoder_channels", "image_size (17)"], None),
    "more pairs than the validation episodes hold": (
        ["eval-pairs", "--offset", "25", "--set", "eval.n_episodes=100000", "--out",
         "out/pairs.json"],
        ["100000"], "out/pairs.json"),
    "32 px demo file for a 64 px world model": (
        ["train-world-model", "--set", "world_model.model.image_size=64", "--set",
         "data.resolution=64", "--out", "out/wm.pt"],
        ["32", "64", "pusht_expert_train.h5"], "out/wm.pt"),
    # Clean one-line CLI errors.
    "unknown method": (["eval", "--method", "nosuch", "--offset", "25"],
                       ["invalid choice: 'nosuch'"], None),
    "negative seed": (["eval", "--method", "larc_idm", "--offset", "25", "--seed", "-3"],
                      ["--seed: must be >= 0, got -3"], None),
    "unwritable output": (["eval-pairs", "--offset", "25", "--out", "/proc/larc/pairs.json"],
                          ["larc eval-pairs: error:", "/proc/larc"], None),
    "override of a missing section": (["validate-config", "--set", "evl.n_episodes=3"],
                                      ["--set 'evl.n_episodes=3': evl is not a section"], None),
    "override without a value": (["validate-config", "--set", "eval.n_episodes"],
                                 ["expected KEY.PATH=VALUE"], None),
    "config value out of range": (["validate-config", "--set", "eval.n_episodes=0"],
                                  ["eval.n_episodes: 0 is less than the minimum of 1"], None),
}


@pytest.mark.e2e
@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_stops_with_a_clear_message(bad, case):
    args, expected, output = CASES[case]
    res = larc(bad, *args)
    assert res.returncode != 0, f"{case}: exit 0\n{res.stderr[-2000:]}"
    assert "Traceback" not in res.stderr, f"{case}: traceback\n{res.stderr[-3000:]}"
    for text in expected:
        assert text in res.stderr, f"{case}: {text!r} not in\n{res.stderr[-2000:]}"
    if output is not None:
        assert not (bad / output).exists(), f"{case}: left {output}"


@pytest.mark.e2e
def test_accepting_the_checkpoint_config_runs_with_a_warning(bad):
    res = larc(bad, "eval", "--method", "larc_chunk", "--offset", "25", "--seed", "0", "--set",
               "policy.chunk.hidden_dim=64", "--accept-checkpoint-config", "--out", "acc.json")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "with its own settings, not the config's: policy.chunk.hidden_dim" in res.stderr
    assert (bad / "acc.json").exists()
