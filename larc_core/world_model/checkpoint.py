"""Single-file world-model checkpoints: save atomically, load with validation, fingerprint.

File layout (``torch.save`` of plain containers, loadable with ``weights_only=True``)::

    {"format": "larc-world-model", "version": 1, "config": dict, "state_dict": dict, "meta": dict}
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ..io import ArtifactError, atomic_torch_save, load_torch_file, sha256_file
from ..seeding import resolve_device
from .config import WorldModelConfig, WorldModelConfigError
from .model import WorldModel
from .shapes import compare_shapes

FORMAT = "larc-world-model"
VERSION = 1
_WHAT = "world-model checkpoint"


def save_world_model(model: WorldModel, path: str | os.PathLike,
                     meta: dict[str, Any] | None = None) -> None:
    """Write ``model`` (config + CPU state dict) and ``meta`` to ``path`` atomically.

    ``meta`` must hold only plain Python/tensor values (it is read back with weights_only=True).
    """
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    payload = {"format": FORMAT, "version": VERSION, "config": model.cfg.to_dict(),
               "state_dict": state, "meta": dict(meta or {})}
    atomic_torch_save(payload, path)


def read_world_model_file(path: str | os.PathLike) -> dict[str, Any]:
    """Load and structurally validate a checkpoint file without building the model.

    Raises:
        ArtifactError: missing/corrupt file, wrong format or version, missing entries.
    """
    path = Path(path)
    payload = load_torch_file(path, _WHAT)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        hint = ""
        if isinstance(payload, dict) and "format" not in payload and any(
            k.startswith("encoder.") for k in payload
        ):
            hint = (" (this looks like a plain LeWM state dict: load it with "
                    "larc_core.world_model.load_lewm_world_model, or convert it once with "
                    "import_lewm_checkpoint, which also fits the action statistics)")
        raise ArtifactError(
            f"{_WHAT} {path} has format {found!r}, expected {FORMAT!r}{hint}"
        )
    if payload.get("version") != VERSION:
        raise ArtifactError(
            f"{_WHAT} {path} has version {payload.get('version')!r}; this code reads version "
            f"{VERSION} - retrain the world model or use the matching larc version"
        )
    for key, typ in (("config", dict), ("state_dict", dict), ("meta", dict)):
        if not isinstance(payload.get(key), typ):
            raise ArtifactError(
                f"{_WHAT} {path}: entry {key!r} must be a {typ.__name__}, got "
                f"{type(payload.get(key)).__name__}"
            )
    return payload


def as_device(device: str | torch.device) -> torch.device:
    """``cpu`` / ``cuda`` / ``auto`` (via larc_core.seeding.resolve_device) or any torch device."""
    if isinstance(device, str) and device in ("cpu", "cuda", "auto"):
        return resolve_device(device)
    return torch.device(device)


def load_world_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> WorldModel:
    """Load a checkpoint into a frozen, eval-mode :class:`WorldModel` on ``device``.

    Raises:
        ArtifactError: missing/corrupt file, wrong format, invalid config, or a state dict that
            does not fit the config (lists missing, unexpected and mis-shaped keys).
    """
    payload = read_world_model_file(path)
    try:
        cfg = WorldModelConfig.from_dict(payload["config"])
    except (WorldModelConfigError, TypeError) as exc:
        raise ArtifactError(f"{_WHAT} {path} holds an invalid config: {exc}") from exc
    model = WorldModel(cfg)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in payload["state_dict"].items()}
    problems = compare_shapes(expected, got)
    if problems:
        raise ArtifactError(f"{_WHAT} {path}: state_dict does not match its config: {problems}")
    model.load_state_dict(payload["state_dict"], strict=True)
    model.meta = payload["meta"]
    return model.to(as_device(device)).freeze()


def world_model_meta(path: str | os.PathLike) -> dict[str, Any]:
    """The ``meta`` dict of a checkpoint (training summary, action stats, data provenance)."""
    return read_world_model_file(path)["meta"]


def world_model_fingerprint(path: str | os.PathLike) -> str:
    """sha256 hex digest of the checkpoint file (identifies the exact weights downstream)."""
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{_WHAT} not found: {path}")
    return sha256_file(path)
