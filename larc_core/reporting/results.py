"""Gather evaluation JSON files into one tidy frame (one row per method x offset)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from larc_core.io import ArtifactError

COLUMNS = [
    "method", "label", "offset", "budget", "n_episodes", "successes", "success_rate",
    "policy_forward_median_ms", "policy_forward_mean_ms", "control_step_median_ms",
    "pairs_sha256", "median_block_displacement",
]


def load_results(paths: list[str | Path]) -> pd.DataFrame:
    """Read ``results/eval/<method>_h<offset>.json`` files; success is recomputed from episodes."""
    rows = []
    for path in paths:
        path = Path(path)
        try:
            doc = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ArtifactError(f"evaluation file {path} could not be read: {exc}") from exc
        episodes = doc.get("episodes")
        if not episodes:
            raise ArtifactError(f"evaluation file {path} holds no episodes")
        successes = sum(bool(e["success"]) for e in episodes)
        lat = doc.get("latency") or {}
        nan = float("nan")
        rows.append(
            {
                "method": doc["method"],
                "label": doc["label"],
                "offset": int(doc["offset"]),
                "budget": int(doc["budget"]),
                "n_episodes": len(episodes),
                "successes": successes,
                "success_rate": successes / len(episodes),
                "policy_forward_median_ms": lat.get("policy_forward", {}).get("median_ms", nan),
                "policy_forward_mean_ms": lat.get("policy_forward", {}).get("mean_ms", nan),
                "control_step_median_ms": lat.get("control_step", {}).get("median_ms", nan),
                "median_block_displacement": doc.get("median_block_displacement", nan),
                "pairs_sha256": doc["pairs_sha256"],
            }
        )
    df = pd.DataFrame(rows, columns=COLUMNS)
    return df.sort_values(["method", "offset"]).reset_index(drop=True)
