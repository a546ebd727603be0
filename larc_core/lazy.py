"""Package attributes imported on first use (PEP 562): a package whose torch-free parts the
workflow reads when Snakemake parses (configs, specs, settings) names its torch modules here, so
importing the package does not import torch."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_attributes(package: str, where: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: attribute ``name`` is the attribute of the same
    name of submodule ``where[name]``, imported the first time it is asked for."""

    def __getattr__(name: str) -> Any:
        if name in where:
            return getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
