"""Config classes of the training objectives: one dataclass per objective holds its settings, their
defaults, ranges and descriptions, and the workflow's config schema takes the objective's block
from it (:func:`larc_core.config.workflow_schema`).

A field is declared with :func:`setting`: its description, its default (left out: the key is
required, unless ``required=False`` says a caller fills it in), and JSON-schema keywords such as
``minimum`` or ``enum``. The JSON type follows the annotation (int, float, str, bool).
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, ClassVar

_JSON_TYPES = {int: "integer", float: "number", str: "string", bool: "boolean"}


def setting(description: str, default: Any = dataclasses.MISSING, *, required: bool = True,
            **schema: Any) -> Any:
    """A config field: its description, default and JSON-schema keywords (``minimum``,
    ``exclusiveMinimum``, ``maximum``, ``enum``, ``multipleOf``). A field without a default is
    required in the config unless ``required=False`` (a caller fills it in before training)."""
    meta = {"description": description, "schema": schema, "required": required}
    if default is dataclasses.MISSING:
        return dataclasses.field(metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass
class ObjectiveConfig:
    """Base of every objective's settings (a dataclass of :func:`setting` fields)."""

    block: ClassVar[tuple[str, ...]] = ()
    """Where the block sits in the workflow config, e.g. ``("policy", "train")``."""
    description: ClassVar[str] = ""
    """What the block configures (the schema's description of it)."""

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The block's JSON schema, properties in field order (defaults are filled in that
        order, after the keys a config gives)."""
        hints = typing.get_type_hints(cls)
        props: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if "description" not in f.metadata:
                raise TypeError(f"{cls.__name__}.{f.name} is not declared with setting()")
            node: dict[str, Any] = {}
            kind = hints[f.name]
            if "enum" not in f.metadata["schema"]:
                if kind not in _JSON_TYPES:
                    raise TypeError(f"{cls.__name__}.{f.name}: annotation {kind!r} has no JSON "
                                    f"type; use one of int, float, str, bool")
                node["type"] = _JSON_TYPES[kind]
            node.update(f.metadata["schema"])
            if f.default is not dataclasses.MISSING:
                node["default"] = f.default
            node["description"] = f.metadata["description"]
            props[f.name] = node
        required = [f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING and f.metadata["required"]]
        return {"type": "object", "additionalProperties": False, "required": required,
                "description": cls.description, "properties": props}

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every field that has a default, with it."""
        return {f.name: f.default for f in dataclasses.fields(cls)
                if f.default is not dataclasses.MISSING}

    @classmethod
    def from_dict(cls, block: dict[str, Any]) -> ObjectiveConfig:
        """The settings of a (possibly partial) block, defaults filled in; a missing field
        without a default or an unknown key is a ValueError naming the block and the key."""
        where = ".".join(cls.block) or cls.__name__
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(block) - set(names))
        if unknown:
            raise ValueError(f"{where}: unknown keys {unknown}; allowed: {names}")
        missing = [n for n in names if n not in block and n not in cls.defaults()]
        if missing:
            raise ValueError(f"{where}: missing {missing} (no default)")
        import jsonschema

        errors = sorted(jsonschema.Draft202012Validator(cls.json_schema()).iter_errors(block),
                        key=lambda e: list(e.absolute_path))
        if errors:
            raise ValueError(f"{where}: " + "; ".join(
                f"{'.'.join(map(str, e.absolute_path)) or '<block>'}: {e.message}"
                for e in errors))
        hints = typing.get_type_hints(cls)
        # A YAML integer given for a float setting (lr: 1) is that float.
        return cls(**{k: float(v) if hints[k] is float else v for k, v in block.items()})

    def to_dict(self) -> dict[str, Any]:
        """Every field, in declaration order."""
        return dataclasses.asdict(self)
