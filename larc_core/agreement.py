"""Config and checkpoint must agree: a consumer given a checkpoint compares the settings it was
configured with against the ones the checkpoint was built with, and stops naming every differing
key (Snakemake reruns a rule whose settings changed, but `--rerun-triggers mtime` and the `larc`
CLI do not, and a checkpoint silently used with its own settings would be a wrong result).
``accept=True`` (``larc ... --accept-checkpoint-config``) uses the checkpoint's settings with a
warning instead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from larc_core.io import ArtifactError
from larc_core.logs import get_logger

log = get_logger("agreement")


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def disagreements(config: dict[str, Any], checkpoint: dict[str, Any], prefix: str) -> list[str]:
    """``<prefix>.<key>: config X, checkpoint Y`` for every key both hold with other values."""
    return [f"{prefix}.{k}: config {_plain(config[k])!r}, checkpoint {_plain(checkpoint[k])!r}"
            for k in config if k in checkpoint and _plain(config[k]) != _plain(checkpoint[k])]


def check_agrees(config: dict[str, Any], checkpoint: dict[str, Any], prefix: str,
                 path: str | Path, rule: str, accept: bool = False) -> None:
    """Raise :class:`ArtifactError` when ``config`` and the ``checkpoint``'s own settings
    differ (``accept``: warn and go on with the checkpoint's)."""
    diffs = disagreements(config, checkpoint, prefix)
    if not diffs:
        return
    text = "; ".join(diffs)
    if accept:
        log.warning("using %s with its own settings, not the config's: %s", path, text)
        return
    if "external" in Path(path).parts:  # linked from artifacts.dir (larc_core.artifacts)
        fix = ("It is a published file linked from artifacts.dir, which no rule builds: set the "
               "config to its settings")
    else:
        fix = f"Rerun {rule} with this config"
    raise ArtifactError(
        f"{path} was built with other settings than the config gives: {text}. {fix}, or pass "
        "--accept-checkpoint-config (larc CLI) to use the checkpoint's own settings")


def check_world_model(model_config: dict[str, Any], path: str | Path,
                      accept: bool = False) -> None:
    """``world_model.model`` against the world-model checkpoint at ``path``."""
    from larc_core.world_model.checkpoint import read_world_model_file
    from larc_core.world_model.config import WorldModelConfig

    expected = WorldModelConfig.from_dict(model_config).to_dict()
    saved = read_world_model_file(path)["config"]
    rule = "import_world_model" if "lewm" in Path(path).name else "train_world_model"
    check_agrees(expected, dict(saved), "world_model.model", path, rule, accept)


def check_policy(backbone: str, block: dict[str, Any], block_name: str, path: str | Path,
                 rule: str, accept: bool = False) -> None:
    """A ``policy.<block_name>`` backbone block against the policy checkpoint at ``path``
    (latent and action sizes come from the world model and the data, not the block)."""
    from larc_core.io import load_torch_file
    from larc_core.policies import policy_config_class

    saved = load_torch_file(path, "policy checkpoint")
    if not isinstance(saved, dict) or "config" not in saved:
        raise ArtifactError(f"policy checkpoint {path} holds no config")
    own = dict(saved["config"])
    cls = policy_config_class(backbone)
    expected = cls(**{"latent_dim": own.get("latent_dim", 1), **block}).to_dict()
    expected = {k: v for k, v in expected.items() if k not in ("latent_dim", "action_dim")}
    check_agrees(expected, own, f"policy.{block_name}", path, rule, accept)


def checkpoint_identity(path: str | Path, what: str = "checkpoint") -> dict[str, Any]:
    """The ``stage`` and ``seed`` a checkpoint file records (``{}`` when it records neither)."""
    from larc_core.io import load_torch_file

    saved = load_torch_file(path, what)
    meta = saved.get("meta") if isinstance(saved, dict) else None
    if not isinstance(meta, dict):
        return {}
    return {k: meta[k] for k in ("stage", "seed") if meta.get(k) is not None}


def check_identity(path: str | Path, stage: str, seed: int | None, asked_for: str,
                   what: str = "checkpoint") -> dict[str, Any]:
    """A checkpoint must be of ``stage`` and, when ``seed`` is given, trained with ``seed``:
    a file of another stage or seed would be run and recorded under the wrong name. Returns
    what the file records. ``asked_for`` names the choice it is checked against (e.g. "row
    larc_idm", "--seed 1")."""
    own = checkpoint_identity(path, what)
    if own.get("stage") not in (None, stage):
        raise ArtifactError(
            f"{path} is a {what} of stage {own['stage']!r} (rule train_{own['stage']}), but "
            f"{asked_for} needs stage {stage!r}: give that stage's folder")
    if seed is not None and own.get("seed") is not None and int(own["seed"]) != int(seed):
        raise ArtifactError(
            f"{path} was trained with seed {own['seed']}, but {asked_for} asks for seed "
            f"{seed}: give that seed's folder or --seed {own['seed']}")
    return own
