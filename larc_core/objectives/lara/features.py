"""The output of a named submodule of a policy, captured during its forward pass (a policy
returns actions only; its hidden features are read where they are computed)."""

from __future__ import annotations

import torch
from torch import nn


class LayerOutput:
    """Keeps the latest output of ``model``'s submodule ``name`` in :attr:`value` ((B, H) as the
    layer computes it, with its graph)."""

    def __init__(self, model: nn.Module, name: str) -> None:
        modules = dict(model.named_modules())
        if name not in modules:
            hidden = [n for n, m in modules.items() if n and not list(m.children())]
            raise ValueError(f"the policy has no submodule {name!r}; its layers: {hidden}")
        self.value: torch.Tensor | None = None
        self.width = self._probe_width(model, modules[name])
        modules[name].register_forward_hook(self._keep)

    def _keep(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        self.value = output

    @staticmethod
    def _probe_width(model: nn.Module, layer: nn.Module) -> int:
        """Width of the layer's output: that of the last Linear at or before it."""
        width = None
        for m in model.modules():
            if isinstance(m, nn.Linear):
                width = m.out_features
            if m is layer:
                break
        if width is None:
            raise ValueError("no Linear layer at or before the aligned layer")
        return width
