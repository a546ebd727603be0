"""State-dict shape comparison shared by the checkpoint loader and the LeWM importer."""

from __future__ import annotations

from collections.abc import Mapping


def compare_shapes(expected: Mapping[str, tuple[int, ...]],
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
