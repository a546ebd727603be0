"""Bad inputs as a hostile user gives them: each case runs the real `larc` CLI (in this process:
an uncaught exception fails the case as a traceback would) on the smoke run's artifacts and must
stop with one clear line naming the file, key or value and what was expected, leaving nothing
complete-looking behind. The cases that need DVC, Snakemake or several processes (a failed
restore, two runs training one artifact, a killed training) run in tests/test_workflow_e2e.py."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import h5py
import pytest
import yaml

WM = "checkpoints/world_model/world_model.pt"
LATENTS = "data/pusht_frame_latents.pt"
DEMOS = "data/pusht_expert_train.h5"
CHUNK = "checkpoints/larc_chunk_backbone_latent/seed0"
IDM = "checkpoints/larc_idm_backbone_latent/seed0"
LAM = "checkpoints/latent_action_model/seed0"
PAIRS = "results/eval/pairs_h25.json"


@pytest.fixture(scope="module")
def bad(smoke_run, tmp_path_factory) -> Path:
    """A folder with the smoke run's config and artifacts (links), and ``other.h5``: the demo
    file with one state changed, so the same frame count but other content."""
    work, _ = smoke_run
    root = tmp_path_factory.mktemp("bad")
    shutil.copytree(work / "config", root / "config")
    for rel in (WM, LATENTS, DEMOS, CHUNK, IDM, LAM, PAIRS):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).symlink_to(work / rel)
    # Every evaluation record of the run, one of them overwritten by another seed's record: the
    # table must refuse it (its place says seed 1).
    for f in (work / "results/eval").rglob("*.json"):
        rel = f.relative_to(work)
        if not (root / rel).exists():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, root / rel)
    shutil.copy2(work / "results/eval/larc_chunk/seed0_h25.json",
                 root / "results/eval/larc_chunk/seed1_h25.json")
    shutil.copy2(work / DEMOS, root / "other.h5")
    with h5py.File(root / "other.h5", "r+") as f:
        f["state"][5, 2] += 3.0
    # Broken files of every kind a consumer reads.
    (root / "broken").mkdir()
    (root / "broken/truncated.h5").write_bytes((work / DEMOS).read_bytes()[:4096])
    (root / "broken/truncated.pt").write_bytes((work / WM).read_bytes()[:2048])
    (root / "broken/not_a_checkpoint.pt").write_text('{"hello": 1}')
    (root / "broken/pairs.json").write_text('{"offset": 25, "pairs": [')
    (root / "broken/pairs_keys.json").write_text('{"offset": 25}')
    (root / "broken/bench.tsv").write_text("s\th:m:s\nabc\t0:00:01\n")
    (root / "broken/log.jsonl").write_text('{"step": 0, "bc": 1}\n{"step": 1, "bc"\n')
    (root / "broken/chunk").mkdir()
    (root / "broken/chunk/shared_policy_backbone.pt").write_bytes(
        (work / CHUNK / "shared_policy_backbone.pt").read_bytes()[:1000])
    import torch

    from larc_core.world_model import load_world_model, save_world_model

    other = load_world_model(work / WM)  # same settings, other weights
    with torch.no_grad():
        next(other.parameters()).add_(0.1)
    save_world_model(other, root / "broken/other_wm.pt", other.meta)
    (root / "config/not_yaml.yaml").write_text("eval: [1, 2\n")
    (root / "config/list.yaml").write_text("- 1\n- 2\n")
    smoke = yaml.safe_load((root / "config/smoke.yaml").read_text())
    smoke["eval"]["n_epsiodes"] = 3  # a typo
    (root / "config/typo.yaml").write_text(yaml.safe_dump(smoke))
    return root


def larc(root: Path, *args: str, config: str = "config/smoke.yaml") -> subprocess.CompletedProcess:
    """``larc <args>`` run in ``root`` in this process: exit status and stderr."""
    import contextlib
    import io
    import logging
    import os

    from larc_core.cli import main

    err, cwd = io.StringIO(), os.getcwd()
    argv = [*args[:1], *(["--config", config] if config else []), *args[1:]]
    # main() configures the `larc` logger for a process of its own: give it back afterwards,
    # so later tests still capture log records.
    logger = logging.getLogger("larc")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    os.chdir(root)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse's usage errors
                code = exc.code
    finally:
        os.chdir(cwd)
        logger.handlers[:], logger.propagate = saved[0], saved[1]
        logger.setLevel(saved[2])
    return subprocess.CompletedProcess(argv, code, "", err.getvalue())


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
    "override value that is not YAML": (["validate-config", "--set", "eval.offsets=[25"],
                                        ["--set 'eval.offsets=[25': the value is not valid YAML"],
                                        None),
    "zero threads": (["eval-pairs", "--offset", "25", "--threads", "0"],
                     ["--threads: must be >= 1, got 0"], None),
    "offset that is not a number": (["eval-pairs", "--offset", "h25"],
                                    ["--offset: expected an integer, got 'h25'"], None),
    "unknown subcommand": (["train-everything"], ["invalid choice: 'train-everything'"], None),
    "missing required option": (["eval", "--method", "noop"], ["--offset"], None),
    # Config files.
    "missing config file": (["validate-config", "--config", "config/nope.yaml"],
                            ["config file not found: config/nope.yaml"], None),
    "config that is not YAML": (["validate-config", "--config", "config/not_yaml.yaml"],
                                ["config file config/not_yaml.yaml is not valid YAML"], None),
    "config that is not a mapping": (["validate-config", "--config", "config/list.yaml"],
                                     ["must hold a mapping, got list"], None),
    "misspelt config key": (["validate-config", "--config", "config/typo.yaml"],
                            ["eval", "'n_epsiodes' was unexpected"], None),
    "wrong type": (["validate-config", "--set", "eval.offsets=25"],
                   ["eval.offsets: 25 is not of type 'array'"], None),
    "unknown device": (["validate-config", "--set", "device=tpu"], ["device", "'tpu'"], None),
    "no seeds": (["validate-config", "--set", "seeds=[]"], ["seeds: [] should be non-empty"],
                 None),
    "no methods": (["validate-config", "--set", "eval.methods=[]"],
                   ["eval.methods: [] should be non-empty"], None),
    "unregistered method in the config": (
        ["validate-config", "--set", "eval.methods=[larc_idm, magic]"],
        ["eval.methods: unknown method 'magic'; registered"], None),
    "backbone block of no registered stage": (
        ["validate-config", "--set", "policy.toy={hidden_dim: 8}"],
        ["policy.toy: no registered training stage has this backbone block"], None),
    "offset longer than the shortest episode": (
        ["validate-config", "--set", "eval.offsets=[25, 70]"],
        ["data.min_len (60) must exceed the largest eval offset (70)"], None),
    "chunk length not a multiple of frameskip": (
        ["validate-config", "--set", "policy.chunk.chunk_len=7"],
        ["policy.chunk.chunk_len (7) must be a multiple of world_model.model.frameskip (5)"],
        None),
    "execute more actions than a chunk holds": (
        ["validate-config", "--set", "eval.execute_chunk_size=20"],
        ["eval.execute_chunk_size (20) must be <= policy.chunk.chunk_len (10)"], None),
    "inverted goal range": (["validate-config", "--set", "policy.goal_offset_min=80"],
                            ["policy.goal_offset_min (80) must be <= policy.goal_offset_max"],
                            None),
    "image size unlike the data": (["validate-config", "--set", "data.resolution=64"],
                                   ["world_model.model.image_size (32) must equal "
                                    "data.resolution (64)"], None),
    "more elites than samples": (["eval", "--method", "cem_commit5", "--offset", "25", "--set",
                                  "planner.top_k=1000", "--out", "out/cem_k.json"],
                                 ["top_k", "1000"], "out/cem_k.json"),
    "artifacts folder that does not exist": (
        ["link-artifacts", "--set", "artifacts.dir=/nonexistent/larc", "--manifest",
         "out/manifest.json"], ["/nonexistent/larc"], "out/manifest.json"),
    # Missing and broken files.
    "missing demo file": (["eval-pairs", "--offset", "25", "--demos", "nope.h5", "--out",
                           "out/p.json"], ["demo file not found: nope.h5"], "out/p.json"),
    "truncated demo file": (["eval-pairs", "--offset", "25", "--demos", "broken/truncated.h5",
                             "--out", "out/p.json"],
                            ["broken/truncated.h5", "corrupt"], "out/p.json"),
    "truncated world model": (["cache-latents", "--world-model", "broken/truncated.pt", "--out",
                               "out/l.pt"], ["broken/truncated.pt"], "out/l.pt"),
    "world model that is not a checkpoint": (
        ["cache-latents", "--world-model", "broken/not_a_checkpoint.pt", "--out", "out/l.pt"],
        ["broken/not_a_checkpoint.pt"], "out/l.pt"),
    "truncated policy checkpoint": (
        ["eval", "--method", "larc_chunk", "--offset", "25", "--checkpoint-dir", "broken/chunk",
         "--out", "out/c.json"], ["broken/chunk/shared_policy_backbone.pt"], "out/c.json"),
    "missing policy checkpoint": (
        ["eval", "--method", "larc_idm", "--offset", "25", "--seed", "1", "--out", "out/i.json"],
        ["checkpoints/larc_idm_backbone_latent/seed1/shared_policy_backbone.pt"], "out/i.json"),
    "pairs file cut short": (["eval", "--method", "noop", "--offset", "25", "--pairs",
                              "broken/pairs.json", "--out", "out/n.json"],
                             ["pairs file broken/pairs.json could not be read"], "out/n.json"),
    "pairs file without pairs": (["eval", "--method", "noop", "--offset", "25", "--pairs",
                                  "broken/pairs_keys.json", "--out", "out/n.json"],
                                 ["pairs file broken/pairs_keys.json lacks"], "out/n.json"),
    "latents of another world model": (
        ["train-idm", "--world-model", "broken/other_wm.pt", "--out-dir", "out/idm"],
        ["broken/other_wm.pt"], "out/idm"),
    "broken benchmark file": (["runtime", "broken/bench.tsv", "--out", "out/runtime.md"],
                              ["benchmark file broken/bench.tsv", "non-numeric value 'abc'"],
                              "out/runtime.md"),
    "broken train log": (["training-curves", "--name", "chunk", "--train-log",
                          "broken/log.jsonl", "--out", "out/c.png"],
                         ["train log broken/log.jsonl, line 2: not valid JSON"], "out/c.png"),
    "restore of a config the file does not hold": (
        ["restore", "--set", "eval.n_episodes=3"],
        ["larc restore checks the run of a config file", "--set eval.n_episodes=3"], None),
    # A choice on the command line that disagrees with what an input records: refused with
    # both values (or, where it narrows the input, applied and recorded: see below).
    "pairs of another offset": (
        ["eval", "--method", "larc_chunk", "--offset", "50", "--seed", "0", "--pairs", PAIRS,
         "--out", "out/o.json"],
        ["pairs file results/eval/pairs_h25.json holds pairs of offset 25",
         "not of the asked offset 50"], "out/o.json"),
    "more episodes than the pairs file holds": (
        ["eval", "--method", "noop", "--offset", "25", "--pairs", PAIRS, "--set",
         "eval.n_episodes=5000", "--out", "out/n.json"],
        ["holds", "eval.n_episodes asks for 5000"], "out/n.json"),
    "checkpoint of another row": (
        ["eval", "--method", "larc_idm", "--offset", "25", "--checkpoint-dir", CHUNK, "--out",
         "out/c.json"],
        [f"{CHUNK}/shared_policy_backbone.pt is a policy checkpoint of stage 'chunk'",
         "row larc_idm needs stage 'idm'"], "out/c.json"),
    "checkpoint of another seed": (
        ["eval", "--method", "larc_chunk", "--offset", "25", "--seed", "1", "--checkpoint-dir",
         CHUNK, "--out", "out/c.json"],
        ["was trained with seed 0", "asks for seed 1"], "out/c.json"),
    "a seed for an untrained row": (
        ["eval", "--method", "noop", "--offset", "25", "--seed", "1", "--out", "out/n.json"],
        ["noop is a reference row", "--seed 1 would be ignored"], "out/n.json"),
    "a world model for a reference row": (
        ["eval", "--method", "replay", "--offset", "25", "--world-model", WM, "--out",
         "out/r.json"], ["replay is a reference row", f"--world-model {WM} would be ignored"],
        "out/r.json"),
    "fine-tune from another seed's checkpoint": (
        ["train-wm-ft", "--seed", "1", "--init-dir", CHUNK, "--out-dir", "out/wmft"],
        ["was trained with seed 0", "stage wm_ft trained with seed 1 asks for seed 1"],
        "out/wmft"),
    "fine-tune from another stage's checkpoint": (
        ["train-wm-ft", "--seed", "0", "--init-dir", IDM, "--out-dir", "out/wmft"],
        ["of stage 'idm'", "needs stage 'chunk'"], "out/wmft"),
    "latent action model of another seed": (
        ["lam-report", "--model", f"1={LAM}/latent_action_model.pt", "--out", "out/lam.md"],
        ["was trained with seed 0", "the report's seed 1 asks for seed 1"], "out/lam.md"),
    "standard task with another row's checkpoint": (
        ["eval-standard", "--method", "larc_idm", "--checkpoint-dir", CHUNK, "--out",
         "out/std/eval_info.json"], ["of stage 'chunk'", "row larc_idm needs stage 'idm'"],
        "out/std/eval_info.json"),
    "table reading a record in another seed's place": (
        ["table", "--out", "out/table.md"],
        ["results/eval/larc_chunk/seed1_h25.json records seed 0", "its place says 1"],
        "out/table.md"),
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
def test_a_narrowing_choice_is_applied_and_recorded(bad):
    """Fewer episodes than the pairs file holds: the first ones are run, and the record says
    how many of how many; a checkpoint folder without --seed records the checkpoint's seed."""
    import json

    res = larc(bad, "eval", "--method", "larc_chunk", "--offset", "25", "--checkpoint-dir",
               CHUNK, "--set", "eval.n_episodes=2", "--out", "narrow.json")
    assert res.returncode == 0, res.stderr[-2000:]
    doc = json.loads((bad / "narrow.json").read_text())
    pairs = json.loads((bad / PAIRS).read_text())["pairs"]
    assert doc["n_episodes"] == 2 and doc["pairs_in_file"] == len(pairs) > 2
    assert doc["seed"] == 0 and doc["method"] == "larc_chunk"


@pytest.mark.e2e
def test_accepting_the_checkpoint_config_runs_with_a_warning(bad):
    res = larc(bad, "eval", "--method", "larc_chunk", "--offset", "25", "--seed", "0", "--set",
               "policy.chunk.hidden_dim=64", "--accept-checkpoint-config", "--out", "acc.json")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "with its own settings, not the config's: policy.chunk.hidden_dim" in res.stderr
    assert (bad / "acc.json").exists()
