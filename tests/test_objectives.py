"""Training objectives as registered units: BC and WM-FT train the weights they trained before
the objectives registry (hashes of tiny runs recorded with the pre-registry trainer), the config
schema takes each objective's block from its config class, and the registry refuses a stage
that disagrees with its objective."""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml
from helpers import extend_package, larc_cli, planned_jobs, reuse_smoke_inputs, snakemake

from larc_core.config import ConfigError, validate_config, workflow_schema
from larc_core.methods import STAGES, Stage
from larc_core.objectives import (
    OBJECTIVE_SPECS,
    TrainData,
    config_blocks,
    objective_class,
    stage_objective,
    stage_spec,
)
from larc_core.objectives import _check as check_stage
from larc_core.objectives.bc import BCConfig
from larc_core.objectives.wm_ft import WMFTConfig
from larc_core.training.fit import fit_stage
from larc_core.world_model import WorldModel, WorldModelConfig

# sha256 of (sorted state dict, action mean, std) after each tiny run below, recorded with the
# trainer before objectives were registered units (its loss closure branched on stage flags).
GOLDEN = {
    "idm": "21fd72ef183866d0d52301b6d584d82f67ba0ee9edef866608852ccec4c74faa",
    "chunk": "9db0ef0acfb0b67f21395c90ed93d8031fe2b4f3cd2e65ea95c994dc9c141575",
    "gc_idm": "c164ca4c49c101fefe11b387edf96031bcf2aa6b0642fdbe7c49b101fdc70149",
    "wm_ft_future": "e01e1048994cf5936541058537c9b1ea93cd9521cf6f14ad7aec7b7b577154a5",
    "wm_ft_path2": "5da3caa2ab55f2236312aecb0508ff350f519e7f96e65872c08a0ea7591aca02",
}
TRAIN = {"steps": 6, "batch_size": 8, "lr": 1e-3, "weight_decay": 1e-4, "smooth_weight": 0.01,
         "warmup_steps": 2, "val_every": 3}
BACKBONES = {"idm": {"hidden_dim": 16, "depth": 1},
             "chunk": {"hidden_dim": 16, "depth": 1, "chunk_len": 10},
             "gc_idm": {"hidden_dim": 16, "depth": 1, "horizon_dim": 8}}
WM_FT = {
    "wm_ft_future": {"steps": 4, "batch_size": 8, "lr": 2e-4, "bc_weight": 1.0,
                     "smooth_weight": 0.01, "consistency_weight": 1.0, "val_every": 2},
    "wm_ft_path2": {"steps": 4, "batch_size": 8, "lr": 2e-4, "consistency_weight": 0.5,
                    "target": "path", "rollout_chunks": 2, "val_every": 2},
}


def _data() -> TrainData:
    """Four episodes of seeded random latents (16) and actions (2); the last one validates."""
    g = np.random.default_rng(0)
    ep_len = np.array([40, 45, 42, 44])
    n = int(ep_len.sum())
    latents = torch.as_tensor(g.standard_normal((n, 16)).astype(np.float32))
    actions = g.standard_normal((n, 2)).astype(np.float32)
    torch.manual_seed(0)
    wm = WorldModel(WorldModelConfig(
        image_size=32, cnn_channels=(8, 16), latent_dim=16, projector_hidden=32,
        action_embed_hidden=16, depth=1, heads=2, head_dim=8, mlp_dim=32)).eval()
    return TrainData(latents=latents, actions=actions,
                     ep_offset=np.concatenate([[0], np.cumsum(ep_len)[:-1]]), ep_len=ep_len,
                     train_episodes=np.array([0, 1, 2]), val_episodes=np.array([3]),
                     goal_offset_min=1, goal_offset_max=20, world_model=wm)


def _digest(policy, stats) -> str:
    h = hashlib.sha256()
    for k, v in sorted(policy.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    h.update(stats.mean.numpy().tobytes())
    h.update(stats.std.numpy().tobytes())
    return h.hexdigest()


def test_bc_and_wm_ft_train_the_same_weights_as_before(tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        data = _data()
        got, fits = {}, {}
        for stage, backbone in BACKBONES.items():
            fits[stage] = fit_stage(stage, data, train_cfg=TRAIN, model_cfg=backbone, seed=3,
                                    state_path=tmp_path / f"{stage}.pt", progress=False)
            got[stage] = _digest(fits[stage].policy, fits[stage].stats)
        for name, cfg in WM_FT.items():
            init = (copy.deepcopy(fits["chunk"].policy), fits["chunk"].stats)
            fit = fit_stage("wm_ft", data, train_cfg=cfg, model_cfg={}, seed=3, init=init,
                            state_path=tmp_path / f"{name}.pt", progress=False)
            assert set(fit.val) == {"bc", "smooth", "wm", "total"}
            got[name] = _digest(fit.policy, fit.stats)
    finally:
        torch.set_num_threads(threads)
    assert got == GOLDEN


def test_the_schema_takes_each_objective_block_from_its_config_class():
    schema = workflow_schema()
    policy = schema["properties"]["policy"]
    assert policy["properties"]["train"] == BCConfig.json_schema()
    assert policy["properties"]["wm_ft"] == WMFTConfig.json_schema()
    assert {"train", "wm_ft"} <= set(policy["required"])  # they have required keys
    for path, cls in config_blocks().items():
        node = schema
        for key in path:
            node = node["properties"][key]
        assert node["description"] == cls.description
        assert all(p["description"] for p in node["properties"].values()), path
    # WM-FT's batch size is left to policy.train's: neither required nor defaulted.
    wm_ft = WMFTConfig.json_schema()
    assert "batch_size" not in wm_ft["required"] and "default" not in wm_ft["properties"][
        "batch_size"]


def test_objective_blocks_are_validated_and_defaulted(smoke_config):
    cfg = copy.deepcopy(smoke_config)
    del cfg["policy"]["wm_ft"]["consistency_weight"]
    cfg["policy"]["train"].pop("grad_clip", None)
    validate_config(cfg)
    assert cfg["policy"]["wm_ft"]["consistency_weight"] == 1.0
    assert cfg["policy"]["train"]["grad_clip"] == 1.0
    for key, value, needle in [("target", "ahead", r"policy.wm_ft.target: 'ahead' is not one"),
                               ("lr", 0, r"policy.wm_ft.lr: 0 is less than or equal"),
                               ("lambda", 1, r"policy.wm_ft: Additional properties")]:
        bad = copy.deepcopy(smoke_config)
        bad["policy"]["wm_ft"][key] = value
        with pytest.raises(ConfigError, match=needle):
            validate_config(bad)
    bad = copy.deepcopy(smoke_config)
    del bad["policy"]["train"]["steps"]
    with pytest.raises(ConfigError, match=r"policy.train: 'steps' is a required property"):
        validate_config(bad)


def test_a_partial_block_gets_its_defaults_and_bad_values_are_named():
    cfg = WMFTConfig.from_dict({"steps": 3, "batch_size": 4, "lr": 1})
    assert cfg.lr == 1.0 and isinstance(cfg.lr, float) and cfg.target == "future"
    with pytest.raises(ValueError, match=r"policy.wm_ft: missing \['batch_size'\]"):
        WMFTConfig.from_dict({"steps": 3, "lr": 0.1})
    with pytest.raises(ValueError, match=r"policy.wm_ft: unknown keys \['nope'\]"):
        WMFTConfig.from_dict({"steps": 3, "batch_size": 4, "lr": 0.1, "nope": 1})
    with pytest.raises(ValueError, match=r"policy.train: steps: 0 is less than the minimum"):
        BCConfig.from_dict({"steps": 0, "batch_size": 4, "lr": 0.1})


def test_every_stage_names_a_registered_objective_that_agrees_with_it():
    assert {s.objective for s in STAGES.values()} == set(OBJECTIVE_SPECS)
    assert stage_spec("wm_ft").init == "required" and STAGES["wm_ft"].init_from == "chunk"
    # Each trainer names its folder's spec (objective_class checks it).
    assert all(objective_class(name).spec is spec for name, spec in OBJECTIVE_SPECS.items())
    assert stage_objective("wm_ft").spec is stage_spec("wm_ft")
    bc = OBJECTIVE_SPECS["bc"]
    with pytest.raises(ValueError, match="give init_from"):
        check_stage(Stage("x", "checkpoints/x", "x", objective="wm_ft"),
                    OBJECTIVE_SPECS["wm_ft"])
    with pytest.raises(ValueError, match="a stage has a policy backbone exactly when"):
        check_stage(Stage("x", "checkpoints/x", "x", backbone=None), bc)


# A toy objective, written as a user would: its own folder ...
TOY_OBJECTIVE_FILES = {
    "config.py": '''"""Settings of the toy objective (config block ``toy_l1``)."""

from dataclasses import dataclass
from typing import ClassVar

from larc_core.objectives.config import ObjectiveConfig, setting
from larc_core.objectives.spec import ObjectiveSpec


@dataclass
class ToyL1Config(ObjectiveConfig):
    block: ClassVar[tuple[str, ...]] = ("toy_l1",)
    description: ClassVar[str] = "Toy objective: behaviour cloning with an L1 loss."

    steps: int = setting("Optimiser steps per seed.", 12, minimum=1)
    batch_size: int = setting("Hindsight examples per step.", 16, minimum=1)
    lr: float = setting("Peak AdamW learning rate.", 1e-3, exclusiveMinimum=0)
    weight_decay: float = setting("AdamW weight decay.", 0.0, minimum=0)
    warmup_steps: int = setting("Warm-up steps.", 0, minimum=0)
    grad_clip: float = setting("Gradient-norm clip (0 = none).", 1.0, minimum=0)
    checkpoint_every: int = setting("Steps between resume-state saves.", 5, minimum=1)
    val_every: int = setting("Steps between held-out losses.", 5, minimum=1)


SPEC = ObjectiveSpec(ToyL1Config)  # a policy, started from scratch or a checkpoint
''',
    "objective.py": '''"""Toy objective: the policy's normalised action regresses onto the recorded one in L1."""

from larc_core.engine.sampler import HindsightSampler
from larc_core.objectives.policy import PolicyObjective
from larc_core.objectives.toy_l1.config import SPEC


class ToyL1(PolicyObjective):
    spec = SPEC

    def __init__(self, stage, cfg, data, **kwargs):
        super().__init__(stage, cfg, data, **kwargs)
        self.samplers = {
            split: HindsightSampler(data.latents, data.actions, data.ep_offset, data.ep_len,
                                    episodes, self.policy.chunk_len, data.goal_offset_min,
                                    data.goal_offset_max)
            for split, episodes in (("train", data.train_episodes), ("val", data.val_episodes))
        }

    def sample(self, split, batch_size, seed, step):
        return self.samplers[split].sample(batch_size, seed, step)

    def losses(self, batch):
        pred = self.policy.predict(batch.z, batch.z_goal, batch.offsets)
        l1 = (pred - self.stats.normalize(batch.actions)).abs().mean()
        return {"l1": l1, "total": l1}


OBJECTIVE = ToyL1
''',
    "__init__.py": "",
}
# ... and one registry line: a stage naming it (with LARC-IDM's backbone), evaluated as a row.
TOY_OBJECTIVE_LINE = (
    '        Method("toy_l1", "Toy L1", POLICY, Stage("toy_l1", "checkpoints/toy_l1_latent", '
    '"Toy: LARC-IDM cloned with an L1 loss.", objective="toy_l1", backbone="idm")),\n')


@pytest.mark.e2e
def test_a_toy_objective_is_its_folder_plus_one_registry_line(smoke_run, tmp_path):
    """With only the toy objective's folder and one registry line: the config schema takes its
    block from its config class (defaults filled, bad values named), the CLI and Snakemake plan
    its stage for every seed and no other, and a real run trains it with its own loss and
    evaluates it in PushT."""
    work, _ = smoke_run
    toy = tmp_path / "toy_objective"
    env = extend_package(toy, "objectives/toy_l1", TOY_OBJECTIVE_FILES, TOY_OBJECTIVE_LINE)
    cli = larc_cli(toy, env)
    assert "LARC-IDM cloned with an L1 loss" in cli("train-toy-l1", "--help")

    config = yaml.safe_load((toy / "config/smoke.yaml").read_text())
    config["eval"]["methods"] = ["toy_l1", "noop"]
    config["policy"]["toy_l1"] = {"hidden_dim": 16, "depth": 1}  # its IDM backbone block
    config["lam_report"] = {"enabled": False}  # no latent action model: the toy trains alone
    (toy / "config/toy.yaml").write_text(yaml.safe_dump({**config, "toy_l1": {"lr": -1}}))
    res = subprocess.run([sys.executable, "-m", "larc_core.cli", "validate-config", "--config",
                          "config/toy.yaml"], cwd=toy, env=env, capture_output=True, text=True)
    assert res.returncode != 0 and "toy_l1.lr: -1 is less than or equal to the minimum" in (
        res.stderr), res.stderr
    (toy / "config/toy.yaml").write_text(yaml.safe_dump(config))
    assert "valid" in cli("validate-config", "--config", "config/toy.yaml")

    seeds, offsets = config["seeds"], config["eval"]["offsets"]
    dry = snakemake(toy, "-n", "results/table.md", configfile="config/toy.yaml", env=env)
    jobs = planned_jobs(dry.stdout + dry.stderr)
    assert jobs["train_toy_l1"] == len(seeds), jobs
    assert not {s.rule for s in STAGES.values()} & set(jobs), jobs  # no other stage trains
    assert jobs["eval"] == len(seeds) * len(offsets), jobs

    reuse_smoke_inputs(work, toy)
    target = f"results/eval/toy_l1/seed0_h{offsets[0]}.json"
    dry = snakemake(toy, "-n", target, configfile="config/toy.yaml", env=env)
    assert planned_jobs(dry.stdout + dry.stderr) == {"train_toy_l1": 1, "eval": 1}
    snakemake(toy, "--cores", "2", target, configfile="config/toy.yaml", env=env)
    doc = json.loads((toy / target).read_text())
    assert doc["method"] == "toy_l1" and len(doc["episodes"]) == config["eval"]["n_episodes"]
    rows = [json.loads(r) for r in
            (toy / "checkpoints/toy_l1_latent/seed0/train_log.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and set(rows[-1]) >= {"l1", "total", "val_l1"}  # its defaults, its loss
    assert rows[-1]["l1"] == rows[-1]["total"]
