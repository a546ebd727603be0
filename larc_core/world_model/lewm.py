"""Load published LeWM ``weights.pt`` state dicts into a paper-size :class:`WorldModel`.

LeWM's plain state dict has exactly our key layout minus the LARC-only action statistics
(:data:`LARC_ONLY_KEYS`). Encoders saved with transformers >= 5.9 use a newer ViT naming
(``encoder.layers.{i}.attention.q_proj`` ...); :func:`remap_lewm_keys` translates it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

import torch

from ..io import ArtifactError, load_torch_file
from .model import LARC_ONLY_KEYS, WorldModel

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


def lewm_state_dict_shapes(model: WorldModel) -> dict[str, tuple[int, ...]]:
    """Key -> shape of the part of ``model.state_dict()`` that a LeWM checkpoint provides."""
    return {k: tuple(v.shape) for k, v in model.state_dict().items() if k not in LARC_ONLY_KEYS}


def load_lewm_weights(model: WorldModel, source: str | os.PathLike | Mapping[str, torch.Tensor],
                      ) -> WorldModel:
    """Strictly load a LeWM state dict (a ``weights.pt`` path or a mapping) into ``model``.

    The action statistics are not part of LeWM's checkpoint: set them afterwards with
    :meth:`WorldModel.set_action_stats` (fitted on the dataset's action column).

    Raises:
        ArtifactError: listing missing, unexpected and mis-shaped keys.
    """
    what = f"LeWM weights {source}" if not isinstance(source, Mapping) else "LeWM state dict"
    sd = source if isinstance(source, Mapping) else load_torch_file(source, "LeWM weights file")
    if not isinstance(sd, Mapping):
        raise ArtifactError(f"{what}: expected a state dict (mapping), got {type(sd).__name__}")
    sd = remap_lewm_keys(sd)
    expected = lewm_state_dict_shapes(model)
    problems = _compare_shapes(expected, {k: tuple(v.shape) for k, v in sd.items()})
    if problems:
        raise ArtifactError(f"{what} does not match the world-model config: {problems}")
    model.load_state_dict(sd, strict=False)
    return model


def _compare_shapes(expected: Mapping[str, tuple[int, ...]],
                    got: Mapping[str, tuple[int, ...]], limit: int = 10) -> str:
    """Human-readable list of missing / unexpected / mis-shaped keys ('' when they agree)."""
    missing = [k for k in expected if k not in got]
    unexpected = [k for k in got if k not in expected]
    shapes = [f"{k}: expected {list(expected[k])}, got {list(got[k])}"
              for k in expected if k in got and tuple(got[k]) != tuple(expected[k])]
    parts = []
    for name, items in (("missing keys", missing), ("unexpected keys", unexpected),
                        ("mis-shaped", shapes)):
        if items:
            more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
            parts.append(f"{name} ({len(items)}): {items[:limit]}{more}")
    return "; ".join(parts)
