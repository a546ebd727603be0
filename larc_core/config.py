"""Load and validate the workflow configuration.

The JSON schema in ``workflow/schemas/config.schema.yaml`` is the single source of truth for
types and ranges; Snakemake validates with it (``validate()`` in ``common.smk``) and so does the
``larc`` CLI through :func:`validate_config`. :func:`check_config` adds the cross-field rules a
schema cannot express (episode lengths versus goal offsets, chunk length versus frameskip).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """A configuration value is missing, mistyped or out of range."""


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping with an error that names the file."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping, got {type(data).__name__}")
    return data


def _schema() -> dict[str, Any]:
    if not SCHEMA_PATH.exists():
        raise ConfigError(
            f"config schema not found at {SCHEMA_PATH}; install the package from the repository "
            "checkout with `pip install -e .`"
        )
    return yaml.safe_load(SCHEMA_PATH.read_text())


def validate_config(config: dict[str, Any], source: str = "config") -> dict[str, Any]:
    """Validate ``config`` against the schema, then the cross-field rules.

    Raises:
        ConfigError: naming the offending key path, its value and what was expected.
    """
    import jsonschema

    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for err in errors:
            key = ".".join(str(p) for p in err.absolute_path) or "<top level>"
            lines.append(f"  {key}: {err.message}")
        raise ConfigError(f"invalid {source}:\n" + "\n".join(lines))
    check_config(config, source)
    return config


def check_config(config: dict[str, Any], source: str = "config") -> None:
    """Cross-field checks that a JSON schema cannot express."""
    problems: list[str] = []
    data, wm, pol, ev = config["data"], config["world_model"], config["policy"], config["eval"]
    if data["min_len"] > data["max_len"]:
        problems.append(
            f"data.min_len ({data['min_len']}) must be <= data.max_len ({data['max_len']})"
        )
    longest = max(ev["offsets"])
    if data["min_len"] <= longest:
        problems.append(
            f"data.min_len ({data['min_len']}) must exceed the largest eval offset ({longest}) so "
            "every validation episode can hold a start/goal pair"
        )
    if wm["model"]["image_size"] != data["resolution"]:
        problems.append(
            f"world_model.model.image_size ({wm['model']['image_size']}) must equal "
            f"data.resolution ({data['resolution']})"
        )
    if pol["goal_offset_min"] > pol["goal_offset_max"]:
        problems.append(
            f"policy.goal_offset_min ({pol['goal_offset_min']}) must be <= "
            f"policy.goal_offset_max ({pol['goal_offset_max']})"
        )
    chunk_len = pol.get("chunk", {}).get("chunk_len", 10)
    fs = wm["model"]["frameskip"]
    if "larc_chunk_wm_ft" in ev["methods"] and chunk_len % fs:
        problems.append(
            f"policy.chunk.chunk_len ({chunk_len}) must be a multiple of "
            f"world_model.model.frameskip ({fs}) for WM-FT rollouts"
        )
    if ev["execute_chunk_size"] > chunk_len:
        problems.append(
            f"eval.execute_chunk_size ({ev['execute_chunk_size']}) must be <= "
            f"policy.chunk.chunk_len ({chunk_len})"
        )
    if problems:
        raise ConfigError(f"invalid {source}:\n" + "\n".join(f"  {p}" for p in problems))


def load_config(path: str | Path) -> dict[str, Any]:
    """Load a YAML config file and validate it."""
    return validate_config(load_yaml(path), source=f"config {path}")
