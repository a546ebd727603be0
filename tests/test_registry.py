"""The method registry (larc_core/methods.py) drives the rules, the CLI, the config check and
dvc.yaml: adding a policy type is its folder plus one registry line (proved with a toy one)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from helpers import REPO, extend_package, larc_cli, planned_jobs, reuse_smoke_inputs, snakemake

from larc_core.config import ConfigError, validate_config
from larc_core.dvc_stages import dvc_yaml
from larc_core.methods import METHODS, STAGES, get_method, stages_needed
from larc_core.policies import POLICY_REGISTRY


def test_committed_dvc_yaml_is_the_registry_s():
    """dvc.yaml versions every registered stage's checkpoints: `larc dvc-yaml` rewrites it."""
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    text = dvc_yaml(config["seeds"], config["eval"]["methods"], bool(config["claims"]))
    assert (REPO / "dvc.yaml").read_text() == text
    stages = yaml.safe_load(text)["stages"]
    for stage in STAGES.values():
        assert stages[stage.rule]["outs"] == [stage.checkpoints]
        # The evaluations read the policies; a latent action model is no table row's.
        assert (stage.checkpoints in stages["evaluate"]["deps"]) == bool(stage.backbone)


def test_registry_defines_policies_stages_and_rules():
    assert set(POLICY_REGISTRY) == {s.backbone for s in STAGES.values() if s.backbone} == {
        "idm", "chunk", "gc_idm"}
    assert STAGES["lam"].backbone is None and STAGES["lam"].objective == "lam"
    assert {m.eval_rule for m in METHODS.values()} == {"eval", "eval_planner", "eval_reference"}
    assert get_method("larc_chunk_wm_ft").stage.init_from == "chunk"
    assert stages_needed(["larc_chunk_wm_ft", "noop"]) == ["chunk", "wm_ft"]
    assert stages_needed(["cem_commit5", "replay"]) == []
    with pytest.raises(KeyError, match="unknown method 'nosuch'; known: "):
        get_method("nosuch")


def test_a_stage_may_fix_the_episodes_it_trains_on(smoke_config):
    """A stage's own max_replay_noise (the expert-episode row: 0) wins over the config's, which
    still sets every other stage's; its rule settings carry the level it trains on."""
    from larc_core import settings

    config = copy.deepcopy(smoke_config)
    for level in (None, 1.0):
        config["policy"]["max_replay_noise"] = level
        assert settings.train_policy(config, "idm_expert")["max_replay_noise"] == 0.0
        assert settings.train_policy(config, "idm")["max_replay_noise"] == level
    assert get_method("larc_idm_expert").backbone == "idm"


def test_config_check_uses_the_registry(smoke_config):
    bad = copy.deepcopy(smoke_config)
    bad["eval"]["methods"] = ["larc_idm", "nosuch"]
    with pytest.raises(ConfigError, match=r"eval.methods: unknown method 'nosuch'; registered"):
        validate_config(bad)
    bad = copy.deepcopy(smoke_config)
    bad["policy"]["toy"] = {"hidden_dim": 8}
    with pytest.raises(ConfigError, match=r"policy.toy: no registered training stage"):
        validate_config(bad)


# A toy policy type, written as a user would: its own folder ...
TOY_FILES = {
    "config.py": '''"""Configuration of the toy policy."""

from dataclasses import dataclass

from larc_core.policies.config import PolicyConfig


@dataclass
class ToyConfig(PolicyConfig):
    """A linear map of (z_t, z_goal, z_goal - z_t) to one action."""


CONFIG = ToyConfig
''',
    "model.py": '''"""Toy policy: one linear layer."""

import torch

from larc_core.policies.base import LatentPolicy, goal_features
from larc_core.policies.toy.config import ToyConfig


class ToyPolicy(LatentPolicy):
    config_class = ToyConfig

    def __init__(self, cfg: ToyConfig) -> None:
        super().__init__()
        self.cfg, self.chunk_len, self.action_dim = cfg, 1, cfg.action_dim
        self.net = torch.nn.Linear(3 * cfg.latent_dim, cfg.action_dim)

    def forward(self, z: torch.Tensor, z_goal: torch.Tensor) -> torch.Tensor:
        """(B, D), (B, D) -> (B, 1, A) normalised actions."""
        return self.net(goal_features(z, z_goal)).unsqueeze(1)


POLICY = ToyPolicy
''',
    "__init__.py": "",
}
# ... and one registry line.
TOY_LINE = ('        Method("toy", "Toy", POLICY, Stage("toy", "checkpoints/toy_backbone_latent", '
            '"Toy: a linear map of (z_t, z_goal).")),\n')


def add_toy_policy(dest: Path) -> dict[str, str]:
    """A copy of the package and workflow in ``dest`` with the toy policy added; returns the
    environment that imports that copy."""
    return extend_package(dest, "policies/toy", TOY_FILES, TOY_LINE)


@pytest.mark.e2e
def test_a_toy_policy_type_is_its_folder_plus_one_registry_line(smoke_run, tmp_path):
    """With only the toy's folder and one registry line: the CLI trains and evaluates it, the
    config accepts it, Snakemake plans its training for every seed and none of the other
    stages, and a real run trains and evaluates it in PushT."""
    work, _ = smoke_run
    toy = tmp_path / "toy"
    env = add_toy_policy(toy)

    cli = larc_cli(toy, env)
    assert "train-toy" in cli("--help") and "Toy: a linear map" in cli("train-toy", "--help")
    assert "toy" in cli("eval", "--help")

    config = yaml.safe_load((toy / "config/smoke.yaml").read_text())
    config["eval"]["methods"] = ["toy", "noop"]
    config["policy"]["toy"] = {"hidden_dim": 8}  # a backbone block: checked against ToyConfig
    config["lam_report"] = {"enabled": False}  # no latent action model: the toy trains alone
    (toy / "config/toy.yaml").write_text(yaml.safe_dump(config))
    assert "valid" in cli("validate-config", "--config", "config/toy.yaml")

    seeds, offsets = config["seeds"], config["eval"]["offsets"]
    dry = snakemake(toy, "-n", "results/table.md", configfile="config/toy.yaml", env=env)
    jobs = planned_jobs(dry.stdout + dry.stderr)
    assert jobs["train_toy"] == len(seeds), jobs
    assert not {s.rule for s in STAGES.values()} & set(jobs), jobs  # no other policy trains
    assert jobs["eval"] == len(seeds) * len(offsets) and jobs["training_curves"] == 2, jobs

    # A real run on the smoke run's data, world model, latents and pairs: it trains the toy for
    # seed 0 and evaluates it.
    reuse_smoke_inputs(work, toy)
    target = f"results/eval/toy/seed0_h{offsets[0]}.json"
    dry = snakemake(toy, "-n", target, configfile="config/toy.yaml", env=env)
    assert planned_jobs(dry.stdout + dry.stderr) == {"train_toy": 1, "eval": 1}
    snakemake(toy, "--cores", "2", target, configfile="config/toy.yaml", env=env)
    doc = json.loads((toy / target).read_text())
    assert doc["method"] == "toy" and len(doc["episodes"]) == config["eval"]["n_episodes"]
    assert (toy / "checkpoints/toy_backbone_latent/seed0/shared_policy_backbone.pt").exists()
    log = (toy / "checkpoints/toy_backbone_latent/seed0/train_log.jsonl").read_text()
    assert len(log.splitlines()) == config["policy"]["train"]["steps"]
