"""Config validation: both shipped configs pass; bad values fail with the key named."""

from __future__ import annotations

import copy

import pytest

from larc_core.config import ConfigError, load_config, load_yaml, validate_config


def test_shipped_configs_are_valid(repo_root):
    for name in ("config.yaml", "smoke.yaml"):
        load_config(repo_root / "config" / name)


def test_overlay_read_alone_warns_but_a_workflow_config_does_not(repo_root, tmp_path,
                                                                  monkeypatch, caplog):
    """Outside a checkout an overlay misses config.yaml's keys (warned); another checkout's
    config.yaml is complete by itself (no warning)."""
    monkeypatch.chdir(tmp_path)
    with caplog.at_level("WARNING", logger="larc.config"):
        full = load_config(repo_root / "config" / "config.yaml")
    assert not caplog.records
    with caplog.at_level("WARNING", logger="larc.config"):
        load_config(repo_root / "config" / "smoke.yaml")
    assert [r.getMessage() for r in caplog.records if "smoke.yaml alone" in r.getMessage()]
    assert full == load_config(repo_root / "config" / "config.yaml",
                               base=repo_root / "config" / "config.yaml")


@pytest.mark.parametrize(
    ("path", "value", "needle"),
    [
        (("data", "resolution"), 8, "data.resolution"),
        (("eval", "n_episodes"), 0, "eval.n_episodes"),
        (("device",), "tpu", "device"),
        (("policy", "train", "lr"), -1.0, "policy.train.lr"),
        (("world_model", "train", "steps"), "many", "world_model.train.steps"),
        (("eval", "methods"), ["larc_idm", "magic"], "eval.methods"),
    ],
)
def test_out_of_range_values_name_the_key(smoke_config, path, value, needle):
    cfg = copy.deepcopy(smoke_config)
    node = cfg
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
        validate_config(cfg)


def test_typo_key_is_rejected(smoke_config):
    cfg = copy.deepcopy(smoke_config)
    cfg["data"]["n_epsiodes"] = 5
    with pytest.raises(ConfigError, match="n_epsiodes"):
        validate_config(cfg)


def test_cross_field_rules(smoke_config):
    cfg = copy.deepcopy(smoke_config)
    cfg["eval"]["offsets"] = [25, 100]
    with pytest.raises(ConfigError, match="min_len"):
        validate_config(cfg)
    cfg = copy.deepcopy(smoke_config)
    cfg["policy"]["chunk"]["chunk_len"] = 7
    with pytest.raises(ConfigError, match="multiple of"):
        validate_config(cfg)
    cfg = copy.deepcopy(smoke_config)
    cfg["world_model"]["model"]["image_size"] = 64
    with pytest.raises(ConfigError, match="image_size"):
        validate_config(cfg)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_yaml(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [1, 2\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_yaml(bad)


def test_pair_draw_check_is_checked_against_the_evaluation():
    """Its draws must differ from the table's and its rows be trained ones; an offset the run
    does not evaluate is left out by the workflow, not refused."""
    from larc_core.config import ConfigError, check_config, load_config

    config = load_config("config/smoke.yaml")
    config["pair_draws"] = {"seeds": [config["eval"]["seed"]], "offsets": [35],
                            "methods": ["noop", "larc_idm"]}
    with pytest.raises(ConfigError) as err:
        check_config(config)
    text = str(err.value)
    assert f"pair_draws.seeds [{config['eval']['seed']}] must not hold eval.seed" in text
    assert "pair_draws.methods ['noop'] are not trained rows" in text
    assert "pair_draws.offsets" not in text  # offset 35 is left out of the check, no error
