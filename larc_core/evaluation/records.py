"""Evaluation records read back: each one must say what its place says.

The workflow writes one record per row, training seed and offset at
``results/eval/<method>/seed<s>_h<offset>.json`` (untrained rows: ``h<offset>.json``; other pair
draws under ``results/eval/draws/draw<d>/``). A record copied or written by hand into another
place (another row's folder, another seed's or offset's name), or a record of a trained row whose
checkpoint belongs to another stage or seed, would put a wrong number into the table and the
claims; :func:`read_eval_record` refuses it, naming both values.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from larc_core.io import ArtifactError

_NAME = re.compile(r"^(?:seed(?P<seed>\d+)_)?h(?P<offset>\d+)\.json$")


def place_of(path: str | Path) -> dict[str, Any] | None:
    """``{"method", "seed", "offset"}`` a record's path stands for in the workflow's layout
    (seed None for untrained rows), or None for a name outside that layout."""
    path = Path(path)
    match = _NAME.match(path.name)
    if match is None:
        return None
    seed = match.group("seed")
    return {"method": path.parent.name, "seed": None if seed is None else int(seed),
            "offset": int(match.group("offset"))}


def read_eval_record(path: str | Path) -> dict[str, Any]:
    """Read one evaluation record and check it against its place and its own provenance.

    Raises:
        ArtifactError: unreadable; its method, seed or offset differ from what its path says;
            or its checkpoint's recorded stage or seed differ from the row's and its own.
    """
    from larc_core.methods import METHODS

    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"evaluation file {path} could not be read: {exc}") from exc
    if not isinstance(doc, dict):
        raise ArtifactError(f"evaluation file {path} holds a {type(doc).__name__}, not an "
                            f"evaluation record")
    place = place_of(path)
    if place is not None and place["method"] in METHODS:
        for key in ("method", "seed", "offset"):
            got = doc.get(key)
            if got != place[key]:
                raise ArtifactError(
                    f"evaluation file {path} records {key} {got!r}, but its place says "
                    f"{place[key]!r}: it belongs elsewhere; rerun eval for "
                    f"{place['method']}" + (f" seed {place['seed']}" if place["seed"] is not None
                                             else "") + f" at offset {place['offset']}")
    method = METHODS.get(doc.get("method"))
    meta = doc.get("policy_meta") or {}
    if method is not None and method.stage is not None and meta:
        if meta.get("stage") not in (None, method.stage.name):
            raise ArtifactError(
                f"evaluation file {path} is labelled {doc['method']} but ran a checkpoint of "
                f"stage {meta['stage']!r} (that row's stage is {method.stage.name!r}); rerun "
                f"eval for {doc['method']}")
        if meta.get("seed") is not None and doc.get("seed") is not None and (
                int(meta["seed"]) != int(doc["seed"])):
            raise ArtifactError(
                f"evaluation file {path} records seed {doc['seed']} but ran a checkpoint "
                f"trained with seed {meta['seed']}; rerun eval for that seed")
    return doc
