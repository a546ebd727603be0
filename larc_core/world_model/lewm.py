"""Load published LeWM checkpoints into the project's own :class:`WorldModel`.

LeWM publishes its PushT world model as

- ``weights.pt`` (also seen as ``*_weights.pt`` / ``*_weights.ckpt``): a plain state dict, safe
  to load with ``weights_only=True``. Its keys are exactly this package's layout minus the
  LARC-only action statistics (:data:`LARC_ONLY_KEYS`); encoders saved with transformers >= 5.9
  use a newer ViT naming (``encoder.layers.{i}.attention.q_proj`` ...) that
  :func:`remap_lewm_keys` translates;
- ``*_object.ckpt``: the whole pickled module. Unpickling it runs code from the classes it names,
  so it needs LeWM's original source importable (and must come from a trusted source); without
  them :func:`read_lewm_state_dict` says how to get a ``weights.pt`` instead.

LeWM's checkpoints carry no action statistics: LeWM z-scores actions with a scaler fitted on the
dataset's action column at run time. :func:`import_lewm_checkpoint` fits the same statistics on a
LeWM-layout demo file and writes a self-contained LARC world-model checkpoint, so every later
stage gets ImageNet normalisation, 224-px input and action z-scoring from the model itself.
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..io import LINKED, ArtifactError, load_torch_file, sha256_file
from .config import WorldModelConfig, WorldModelConfigError
from .model import LARC_ONLY_KEYS, WorldModel
from .shapes import compare_shapes

# transformers >= 5.9 ViT names -> 4.x names (the layout this package uses).
_ALT_LAYER_RENAMES = {
    "attention.q_proj": "attention.attention.query",
    "attention.k_proj": "attention.attention.key",
    "attention.v_proj": "attention.attention.value",
    "attention.o_proj": "attention.output.dense",
    "mlp.fc1": "intermediate.dense",
    "mlp.fc2": "output.dense",
    "layernorm_before": "layernorm_before",
    "layernorm_after": "layernorm_after",
}
_ALT_LAYER = re.compile(r"^encoder\.layers\.(\d+)\.(.+)\.(weight|bias)$")
# Prefixes wrappers add in front of the module's own keys: torch.compile, Lightning modules.
_WRAPPER_PREFIXES = ("_orig_mod.", "model.", "module.")
_LEWM_ROOTS = ("encoder.", "predictor.", "action_encoder.", "projector.", "pred_proj.")

HOW_TO_GET_WEIGHTS = (
    "use LeWM's plain state dict instead: put `weights.pt` into artifacts.dir (LeWM publishes "
    "it next to the object checkpoint), or export it once where LeWM's original code is "
    "installed with `python -c \"import torch; m = torch.load('lewm_object.ckpt', "
    "weights_only=False, map_location='cpu'); torch.save(m.state_dict(), 'weights.pt')\"`"
)


def remap_lewm_keys(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Return ``state_dict`` with newer-transformers ViT encoder keys renamed to the 4.x layout.

    Keys already in the 4.x layout (and all non-encoder keys) pass through unchanged.
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        m = _ALT_LAYER.match(key)
        if m and m.group(2) in _ALT_LAYER_RENAMES:
            key = f"encoder.encoder.layer.{m.group(1)}.{_ALT_LAYER_RENAMES[m.group(2)]}.{m.group(3)}"
        out[key] = value
    return out


def _strip_wrapper_prefixes(sd: Mapping[str, Any]) -> dict[str, Any]:
    """Drop a prefix (``_orig_mod.``, ``model.``, ``module.``) that every key carries."""
    out = dict(sd)
    changed = True
    while changed and out:
        changed = False
        for prefix in _WRAPPER_PREFIXES:
            if all(k.startswith(prefix) for k in out) and not any(
                k.startswith(_LEWM_ROOTS) for k in out
            ):
                out = {k[len(prefix):]: v for k, v in out.items()}
                changed = True
    return out


def _as_state_dict(obj: Any, what: str) -> dict[str, torch.Tensor]:
    """A module, a ``{"state_dict": ...}`` checkpoint or a plain mapping -> plain state dict."""
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    elif isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]  # Lightning-style checkpoint
    if not isinstance(obj, Mapping) or not all(isinstance(k, str) for k in obj):
        raise ArtifactError(
            f"{what}: expected a state dict (a mapping of names to tensors), an nn.Module or a "
            f"checkpoint with a 'state_dict' entry; got {type(obj).__name__}"
        )
    sd = _strip_wrapper_prefixes(obj)
    bad = [k for k, v in sd.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise ArtifactError(f"{what}: entries {bad[:5]} are not tensors; not a state dict")
    return remap_lewm_keys(sd)


def is_object_checkpoint(path: str | os.PathLike) -> bool:
    """Whether ``path`` is named like a pickled-module LeWM checkpoint (``*_object.ckpt``)."""
    return Path(path).name.endswith("object.ckpt")


def _load_object_checkpoint(path: Path) -> Any:
    """``torch.load(weights_only=False)`` with a clear error when the pickled classes are gone."""
    if not path.exists():
        raise ArtifactError(f"LeWM object checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except (ModuleNotFoundError, ImportError, AttributeError) as exc:
        # pickle names the class it cannot find: "No module named 'X'" / "Can't get attribute".
        raise ArtifactError(
            f"LeWM object checkpoint {path} pickles a whole module whose classes cannot be "
            f"imported here ({type(exc).__name__}: {exc}); this package does not need LeWM's "
            f"source tree: {HOW_TO_GET_WEIGHTS}"
        ) from exc
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as exc:
        raise ArtifactError(
            f"LeWM object checkpoint {path} could not be read ({type(exc).__name__}: {exc}); "
            f"the file is corrupt or truncated, or: {HOW_TO_GET_WEIGHTS}"
        ) from exc


def read_lewm_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a LeWM checkpoint file into a plain state dict in this package's key layout.

    ``*_object.ckpt`` files are unpickled (``weights_only=False``: trusted files only); every
    other name is loaded with ``weights_only=True``. Wrapper prefixes (``_orig_mod.``,
    ``model.``) and the newer ViT encoder naming are normalised away.

    Raises:
        ArtifactError: missing or corrupt file; an object checkpoint whose classes are not
            importable (the message says how to get ``weights.pt``); not a state dict.
    """
    path = Path(path)
    if is_object_checkpoint(path):
        return _as_state_dict(_load_object_checkpoint(path), f"LeWM object checkpoint {path}")
    what = f"LeWM weights file {path}"
    payload = load_torch_file(path, "LeWM weights file", fix=LINKED)
    if isinstance(payload, Mapping) and payload.get("format") == "larc-world-model":
        raise ArtifactError(
            f"{what} is a LARC world-model checkpoint, not a LeWM one: load it with "
            "larc_core.world_model.load_world_model"
        )
    return _as_state_dict(payload, what)


def lewm_state_dict_shapes(model: WorldModel) -> dict[str, tuple[int, ...]]:
    """Key -> shape of the part of ``model.state_dict()`` that a LeWM checkpoint provides."""
    return {k: tuple(v.shape) for k, v in model.state_dict().items() if k not in LARC_ONLY_KEYS}


def check_lewm_state_dict(sd: Mapping[str, torch.Tensor], cfg: WorldModelConfig,
                          what: str = "LeWM state dict") -> None:
    """Raise :class:`ArtifactError` unless ``sd`` fits ``WorldModel(cfg)`` key for key.

    The LARC-only action statistics may be present or absent; every other key must match in
    name and shape. The message lists missing, unexpected and mis-shaped keys.
    """
    with torch.device("meta"):  # shapes only: no memory, no initialisation cost
        expected = lewm_state_dict_shapes(WorldModel(cfg))
    got = {k: tuple(v.shape) for k, v in sd.items() if k not in LARC_ONLY_KEYS}
    problems = compare_shapes(expected, got)
    if problems:
        hint = ""
        if cfg != WorldModelConfig.paper():
            hint = (" (LeWM's PushT checkpoint needs the paper-size model: use "
                    "config/paper.yaml or WorldModelConfig.paper())")
        raise ArtifactError(f"{what} does not match the world-model config{hint}: {problems}")


def load_lewm_weights(model: WorldModel, source: str | os.PathLike | Mapping[str, torch.Tensor],
                      ) -> WorldModel:
    """Strictly load a LeWM state dict (a checkpoint path or a mapping) into ``model``.

    The action statistics are not part of LeWM's checkpoint (unless it holds ``action_mean`` /
    ``action_std``, then they are loaded too): otherwise set them afterwards with
    :meth:`WorldModel.set_action_stats` (fitted on the dataset's action column).

    Raises:
        ArtifactError: listing missing, unexpected and mis-shaped keys.
    """
    if isinstance(source, Mapping):
        what, sd = "LeWM state dict", _as_state_dict(source, "LeWM state dict")
    else:
        what, sd = f"LeWM checkpoint {source}", read_lewm_state_dict(source)
    check_lewm_state_dict(sd, model.cfg, what)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if unexpected or not set(missing) <= set(LARC_ONLY_KEYS):  # guarded by the check above
        raise ArtifactError(f"{what}: missing {missing}, unexpected {unexpected}")
    return model


def load_lewm_world_model(source: str | os.PathLike | Mapping[str, torch.Tensor],
                          cfg: WorldModelConfig | None = None,
                          action_mean: np.ndarray | torch.Tensor | None = None,
                          action_std: np.ndarray | torch.Tensor | None = None,
                          ) -> WorldModel:
    """A frozen, eval-mode :class:`WorldModel` (default: paper size) holding LeWM's weights.

    ``action_mean`` / ``action_std`` are the z-scoring statistics of raw actions, ``(2,)`` or
    per block ``(10,)``; without them (and without stats in the file) the model keeps the
    identity scaling (mean 0, std 1), which is only right for already z-scored actions.
    """
    model = load_lewm_weights(WorldModel(cfg or WorldModelConfig.paper()), source)
    if (action_mean is None) != (action_std is None):
        raise ValueError("give both action_mean and action_std, or neither")
    if action_mean is not None:
        model.set_action_stats(action_mean, action_std)
    return model.freeze()


def fit_lewm_action_stats(demo_path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and std ``(2,)`` of the demo file's action column, as LeWM's scaler.

    Fitted on every episode (LeWM fits its scaler on the whole column), leaving out each
    episode's last row (no action leaves it) and non-finite rows; float64 accumulation.
    """
    from ..data import DemoFile

    with DemoFile(demo_path) as demo:
        # The raw column: DemoFile.action reads non-finite rows as zeros, which must not count.
        actions = np.asarray(demo.h5["action"][()], dtype=np.float64)
        keep = np.ones(len(actions), dtype=bool)
        keep[demo.ep_offset + demo.ep_len.astype(np.int64) - 1] = False
    keep &= np.isfinite(actions).all(axis=1)
    if not keep.any():
        raise ArtifactError(f"demo file {demo_path}: no finite actions to fit statistics on")
    sub = actions[keep]
    return sub.mean(axis=0).astype(np.float32), sub.std(axis=0).astype(np.float32)


def import_lewm_checkpoint(source: str | os.PathLike, demo_path: str | os.PathLike,
                           out_path: str | os.PathLike,
                           cfg: WorldModelConfig | dict | None = None) -> dict[str, Any]:
    """Turn a LeWM checkpoint into a self-contained LARC world-model checkpoint.

    Builds ``WorldModel(cfg)`` (default: paper size), loads the LeWM weights strictly, fits the
    action statistics on ``demo_path`` (:func:`fit_lewm_action_stats`) and writes ``out_path``
    atomically with provenance in its meta. A LARC checkpoint given as ``source`` is re-saved
    unchanged (its own statistics are kept) after checking its config equals ``cfg``.

    Returns:
        The meta dict written.
    """
    from .checkpoint import FORMAT, load_world_model, save_world_model

    source = Path(source)
    if isinstance(cfg, dict):
        try:
            cfg = WorldModelConfig.from_dict(cfg)
        except WorldModelConfigError as exc:
            raise ArtifactError(f"world-model config for {source}: {exc}") from exc
    cfg = cfg or WorldModelConfig.paper()
    src_sha = sha256_file(source) if source.exists() else None
    raw = None
    if not is_object_checkpoint(source):
        raw = load_torch_file(source, "world-model checkpoint")
    if isinstance(raw, Mapping) and raw.get("format") == FORMAT:
        model = load_world_model(source)
        if model.cfg != cfg:
            raise ArtifactError(
                f"LARC world-model checkpoint {source} was built with config "
                f"{model.cfg.to_dict()}, but the workflow config asks for {cfg.to_dict()}"
            )
        meta = {**model.meta, "imported_from": str(source), "source_sha256": src_sha}
        save_world_model(model, out_path, meta)
        return meta
    if raw is None:
        sd = read_lewm_state_dict(source)
    else:
        sd = _as_state_dict(raw, f"LeWM weights file {source}")
    model = WorldModel(cfg)
    load_lewm_weights(model, sd)
    from ..data import DemoFile

    with DemoFile(demo_path) as demo:
        n_frames = int(demo.n_frames)
    has_stats = all(k in sd for k in LARC_ONLY_KEYS)
    if has_stats:
        mean = model.action_mean[: cfg.action_dim].numpy()
        std = model.action_std[: cfg.action_dim].numpy()
    else:
        mean, std = fit_lewm_action_stats(demo_path)
        model.set_action_stats(mean, std)
    meta = {
        "source": "lewm", "imported_from": str(source), "source_sha256": src_sha,
        "action_stats_from": "checkpoint" if has_stats else str(demo_path),
        "demo_path": str(demo_path), "demo_n_frames": n_frames,
        "action_mean": np.asarray(mean, dtype=np.float32).tolist(),
        "action_std": np.asarray(std, dtype=np.float32).tolist(),
        "n_params": sum(p.numel() for p in model.parameters()),
        "torch_version": str(torch.__version__),
    }
    save_world_model(model.eval(), out_path, meta)
    return meta
