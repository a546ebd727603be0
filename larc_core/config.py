"""Load and validate the workflow configuration.

The JSON schema in ``workflow/schemas/config.schema.yaml``, completed by the training objectives'
blocks from their config classes (:func:`workflow_schema`), is the single source of truth for
types, ranges and defaults; the workflow (``common.smk``) and the ``larc`` CLI both validate with
it through :func:`validate_config`. :func:`check_config` adds the cross-field rules a
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


def _file_schema() -> dict[str, Any]:
    if not SCHEMA_PATH.exists():
        raise ConfigError(
            f"config schema not found at {SCHEMA_PATH}; install the package from the repository "
            "checkout with `pip install -e .`"
        )
    return yaml.safe_load(SCHEMA_PATH.read_text())


def workflow_schema() -> dict[str, Any]:
    """The workflow's config schema: ``workflow/schemas/config.schema.yaml`` plus every
    registered objective's block, taken from its config class (``larc_core/objectives``). A block
    with required keys is required; one whose keys all have defaults defaults to ``{}``."""
    from larc_core.objectives import config_blocks

    schema = _file_schema()
    for path, cls in config_blocks().items():
        parent = schema
        for key in path[:-1]:
            parent = parent["properties"][key]
        props = parent.setdefault("properties", {})
        if path[-1] in props:
            raise ConfigError(f"{SCHEMA_PATH} defines {'.'.join(path)}, the block of "
                              f"{cls.__name__}: leave it to the config class")
        block = cls.json_schema()
        if block["required"]:
            parent.setdefault("required", []).append(path[-1])
        else:
            block["default"] = {}
        props[path[-1]] = block
    return schema


def _defaults_validator():
    """A schema validator that also fills every absent key that has a schema ``default`` (as
    Snakemake's ``validate`` does), so the CLI and the workflow read the same values."""
    import copy

    import jsonschema

    base = jsonschema.Draft202012Validator
    check_properties = base.VALIDATORS["properties"]

    def properties(validator, props, instance, schema):
        if isinstance(instance, dict):
            for key, sub in props.items():
                if "default" in sub and key not in instance:
                    instance[key] = copy.deepcopy(sub["default"])
        yield from check_properties(validator, props, instance, schema)

    return jsonschema.validators.extend(base, {"properties": properties})


def validate_config(config: dict[str, Any], source: str = "config") -> dict[str, Any]:
    """Validate ``config`` against the schema (filling its defaults in place), then the
    cross-field rules.

    Raises:
        ConfigError: naming the offending key path, its value and what was expected.
    """
    validator = _defaults_validator()(workflow_schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for err in errors:
            key = ".".join(str(p) for p in err.absolute_path) or "<top level>"
            lines.append(f"  {key}: {err.message}")
        raise ConfigError(f"invalid {source}:\n" + "\n".join(lines))
    check_config(config, source)
    return config


def _registry_problems(config: dict[str, Any]) -> list[str]:
    """``eval.methods`` and the ``policy.<stage>`` blocks checked against the method registry
    (larc_core/methods.py) and each backbone's config dataclass."""
    from larc_core.methods import METHODS, STAGES

    problems = [
        f"eval.methods: unknown method {key!r}; registered: {sorted(METHODS)}"
        for key in config["eval"]["methods"] if key not in METHODS
    ]
    blocks = {s.backbone_block: s for s in STAGES.values() if s.backbone_block}
    from larc_core.objectives import config_blocks

    # Keys of ``policy:`` that are not a backbone block: the hindsight range and the objectives'
    # blocks.
    settings = ["goal_offset_min", "goal_offset_max", "max_replay_noise",
                *sorted(p[1] for p in config_blocks() if len(p) == 2 and p[0] == "policy")]
    for key, block in config["policy"].items():
        if key in settings:
            continue
        if key not in blocks:
            problems.append(
                f"policy.{key}: no registered training stage has this backbone block; known: "
                f"{sorted(blocks)} (and {', '.join(settings)})"
            )
            continue
        from larc_core.policies import policy_config_class

        fields = set(policy_config_class(blocks[key].backbone).__dataclass_fields__)
        # latent_dim and action_dim come from the world model and the data, not the config.
        allowed = fields - {"latent_dim", "action_dim"}
        unknown = sorted(set(block) - allowed)
        if unknown:
            problems.append(f"policy.{key}: unknown keys {unknown}; allowed: {sorted(allowed)}")
    return problems


def _label_sweep_problems(config: dict[str, Any]) -> list[str]:
    """The labeled-fraction sweep's rows are registered rows trained on a labeled fraction."""
    from larc_core.methods import METHODS
    from larc_core.objectives import stage_spec

    problems = []
    for key in config["label_efficiency"]["methods"]:
        m = METHODS.get(key)
        if m is None or m.stage is None:
            problems.append(f"label_efficiency.methods: {key!r} is not a trained row")
        elif "labeled_fraction" not in stage_spec(m.stage).config_class.__dataclass_fields__:
            problems.append(f"label_efficiency.methods: {key!r} does not train on a labeled "
                            f"fraction (its objective is {m.stage.objective!r})")
    return problems


def check_config(config: dict[str, Any], source: str = "config") -> None:
    """Cross-field checks that a JSON schema cannot express."""
    problems: list[str] = _registry_problems(config) + _label_sweep_problems(config)
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
    from larc_core.methods import METHODS

    for i, claim in enumerate(config.get("claims") or []):
        for side in ("a", "b"):
            if claim[side] not in METHODS:
                problems.append(
                    f"claims[{i}].{side} ({claim[side]!r}, claim {claim['name']!r}) must be a "
                    f"results-table row, one of {sorted(METHODS)}")
        if claim.get("latency") and not all(
                m in METHODS and (METHODS[m].learned or METHODS[m].planned)
                for m in (claim["a"], claim["b"])):
            problems.append(f"claims[{i}].latency: both rows of {claim['name']!r} must decide "
                            "(a policy or a planner) to compare their time per decision")
    problems += _sweep_problems(config)
    problems += _pair_draw_problems(config)
    problems += _dataclass_problems(wm)
    if problems:
        raise ConfigError(f"invalid {source}:\n" + "\n".join(f"  {p}" for p in problems))


def apply_overrides(config: dict[str, Any], overrides: list[str] | None) -> dict[str, Any]:
    """Apply ``KEY.PATH=VALUE`` overrides (``larc ... --set eval.n_episodes=10``) in place.

    The value is read as YAML (``10``, ``1.0e-3``, ``[25, 50]``, ``null``, ``cpu``); every key
    but the last must name an existing mapping, so a typo is caught here, and the result is
    then validated like the file itself.

    Raises:
        ConfigError: naming the override and what is wrong with it.
    """
    for item in overrides or []:
        key, sep, raw = item.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            raise ConfigError(f"--set {item!r}: expected KEY.PATH=VALUE, e.g. eval.n_episodes=10")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {item!r}: the value is not valid YAML ({exc})") from exc
        node: Any = config
        schema: Any = workflow_schema()
        for depth, part in enumerate(parts[:-1]):
            schema = (schema or {}).get("properties", {}).get(part)
            if isinstance(node, dict) and part not in node and (schema or {}).get("type") == "object":
                node[part] = {}  # a section the schema defines and the file leaves to defaults
            if not isinstance(node, dict) or not isinstance(node.get(part), dict):
                where = ".".join(parts[:depth + 1])
                known = sorted(node) if isinstance(node, dict) else []
                raise ConfigError(f"--set {item!r}: {where} is not a section of the config "
                                  f"(sections here: {[k for k in known if isinstance(node[k], dict)]})")
            node = node[part]
        node[parts[-1]] = value
    return config


def _sweep_problems(config: dict[str, Any]) -> list[str]:
    """The WM-FT sweep's blocks hold policy.wm_ft keys; its tuning pairs have their own seed."""
    problems = []
    allowed = set(workflow_schema()["properties"]["policy"]["properties"]["wm_ft"]["properties"])
    sweep = config.get("wm_ft_sweep") or {}
    blocks = {"wm_ft_sweep.base": sweep.get("base") or {}}
    grid = sweep.get("grid") or []
    blocks.update({f"wm_ft_sweep.grid[{i}] ({p['name']!r}).overrides": p.get("overrides") or {}
                   for i, p in enumerate(grid)})
    names = [p["name"] for p in grid]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        problems.append(f"wm_ft_sweep.grid: point names must be unique; repeated: {repeated}")
    for where, block in blocks.items():
        unknown = sorted(set(block) - allowed)
        if unknown:
            problems.append(f"{where}: unknown keys {unknown}; allowed: the keys of "
                            f"policy.wm_ft {sorted(allowed)}")
    if sweep and "chunk" not in names:
        problems.append("wm_ft_sweep.grid needs its point 'chunk' (the Chunk checkpoints every "
                        "other point is compared with)")
    incumbent = sweep.get("incumbent", "base")
    if sweep and (incumbent not in names or incumbent == "chunk"):
        problems.append(f"wm_ft_sweep.incumbent {incumbent!r} must name a fine-tuned point of "
                        f"wm_ft_sweep.grid (the setting policy.wm_ft holds); points: {names}")
    tuning = config.get("tuning") or {}
    if tuning.get("pair_seed") == config["eval"]["seed"]:
        problems.append(f"tuning.pair_seed ({tuning['pair_seed']}) must differ from eval.seed: "
                        "tuning pairs are not the evaluation's pairs")
    return problems


def _pair_draw_problems(config: dict[str, Any]) -> list[str]:
    """The pair-draw check reruns trained rows with other seeds than the table's (rows and
    offsets a run does not evaluate are left out by the workflow, not refused)."""
    draws, ev = config.get("pair_draws") or {}, config["eval"]
    problems = []
    if ev["seed"] in draws.get("seeds", []):
        problems.append(f"pair_draws.seeds {draws['seeds']} must not hold eval.seed "
                        f"({ev['seed']}): the check compares the table's draw with other draws")
    from larc_core.methods import METHODS

    bad = [m for m in draws.get("methods", [])
           if m not in METHODS or METHODS[m].eval_rule != "eval"]
    if bad:
        problems.append(f"pair_draws.methods {bad} are not trained rows (those are "
                        f"{sorted(m for m in METHODS if METHODS[m].eval_rule == 'eval')}); "
                        "rows or offsets this run does not evaluate are left out of the check")
    return problems


def _dataclass_problems(wm: dict[str, Any]) -> list[str]:
    """The world model's own checks (encoder strides against image_size, decoder sizes ...),
    run before any job instead of when the world model is first built."""
    from larc_core.world_model.config import WorldModelConfig, WorldModelTrainConfig

    problems = []
    for key, build in (("world_model.model", WorldModelConfig.from_dict),
                       ("world_model.train", lambda d: WorldModelTrainConfig(**d))):
        try:
            build(dict(wm[key.split(".")[1]]))
        except (TypeError, ValueError) as exc:
            problems.append(f"{key}: {exc}")
    return problems


WORKFLOW_CONFIG = "config/config.yaml"
"""The workflow's own config file (the Snakefile's ``configfile:``), relative to the workflow
root: ``snakemake --configfile X`` reads X over it."""


def merge_config(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` laid over ``base`` as Snakemake lays a ``--configfile`` over the workflow's
    config: mappings merge key by key, any other value (lists included) replaces. New dict."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_config(out[key], value)
        else:
            out[key] = value
    return out


def load_config(path: str | Path, overrides: list[str] | None = None, *,
                base: str | Path | None = WORKFLOW_CONFIG) -> dict[str, Any]:
    """Load a YAML config file as ``snakemake --configfile <path>`` reads it: laid over the
    workflow's own config ``base`` (relative to the working directory, the workflow root), so
    the ``larc`` CLI and the workflow run the same settings from the same file; then apply
    ``KEY.PATH=VALUE`` overrides and validate the result. Without ``base`` (None, or no such
    file: then a warning says so unless the file is itself a workflow config, named as ``base``
    is) the file is read alone."""
    import logging

    data = load_yaml(path)
    source = f"config {path}"
    if base is not None and Path(base).exists():
        if Path(base).resolve() != Path(path).resolve():
            data = merge_config(load_yaml(base), data)
            source = f"config {path} over {base}"
    elif base is not None and Path(path).name != Path(base).name:
        # A workflow config (another checkout's config.yaml) is complete by itself.
        logging.getLogger("larc.config").warning(
            "%s not found in %s: reading %s alone (the workflow reads it over %s)", base,
            Path.cwd(), path, base)
    source += f" with --set {' '.join(overrides)}" if overrides else ""
    return validate_config(apply_overrides(data, overrides), source=source)
